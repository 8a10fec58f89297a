#!/usr/bin/env node
// Test tooling built from Go modules (porcupine's checker, etcd, the Kubernetes control
// plane, helm, kwok, and the real-pods rig's node stack: kubelet, kube-proxy, pause,
// containerd, runc, the CNI plugins, CoreDNS). Each tool is a small wrapper module under tools/go/<name>/ whose
// go.mod and go.sum pin exactly what is built; tool.json names the binaries. A binary is
// either a Go package ({name, package, ldflags?, tags?, cgo?}) or a C program that upstream
// ships inside one of the pinned modules ({name, cSource: {module, path}, cflags?}), such as
// Kubernetes' pause: its source comes from the module cache at the version go.mod pins, so
// go.sum vouches for it as for the Go code.
//
// Binaries are cached outside the clone, under the user's cache directory, keyed by a hash
// of the wrapper module (go.mod, go.sum, sources, tool.json) and the Go version (and gcc's,
// for a tool that compiles C), so a machine that built a tool once pays nothing on the next
// clean clone, and a change to the pinned versions builds afresh.
//
//   node tools/go-tools.mjs build [NAME...] [--budget-seconds N]   build (or reuse) tools
//   node tools/go-tools.mjs path NAME BINARY                       print a binary's path
//   node tools/go-tools.mjs list                                   list the tools
import { createHash } from "node:crypto";
import { spawn, execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const toolsRoot = join(dirname(fileURLToPath(import.meta.url)), "go");
const LOCK_WAIT_MS = 90 * 60_000;

export function cacheRoot() {
  if (process.env.KVRAFT_TOOLS_CACHE) return process.env.KVRAFT_TOOLS_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "kvraft-tools");
}

export function listTools() {
  return readdirSync(toolsRoot).filter((name) => existsSync(join(toolsRoot, name, "tool.json"))).sort();
}

function readSpec(name) {
  const file = join(toolsRoot, name, "tool.json");
  if (!existsSync(file)) {
    throw new Error(`no Go tool named "${name}": expected ${file} (known: ${listTools().join(", ")})`);
  }
  const spec = JSON.parse(readFileSync(file, "utf8"));
  if (!Array.isArray(spec.binaries) || spec.binaries.length === 0) {
    throw new Error(`${file}: "binaries" must list at least one {name, package}`);
  }
  for (const bin of spec.binaries) {
    // Exactly one source per binary: a tool.json naming both would leave which one is built
    // to the order of the checks in ensureTool.
    const c = bin.cSource;
    if (typeof bin.name !== "string" || (bin.package === undefined) === (c === undefined)) {
      throw new Error(`${file}: binary ${JSON.stringify(bin.name)} needs a "name" and either a Go "package" or a "cSource": {module, path}`);
    }
    if (c !== undefined && (typeof c.module !== "string" || typeof c.path !== "string")) {
      throw new Error(`${file}: ${bin.name}'s "cSource" must be {"module": "<module path in go.mod>", "path": "<file in that module>"}`);
    }
    if (bin.cflags !== undefined && !(Array.isArray(bin.cflags) && bin.cflags.every((flag) => typeof flag === "string"))) {
      throw new Error(`${file}: ${bin.name}'s "cflags" must be a list of strings, one gcc argument each`);
    }
  }
  return spec;
}

function moduleFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...moduleFiles(path));
    else if (/\.(go|mod|sum|json)$/.test(entry)) out.push(path);
  }
  return out;
}

let goVersionCache;
function goVersion() {
  goVersionCache ??= execFileSync("go", ["version"], { encoding: "utf8" }).trim();
  return goVersionCache;
}

let gccVersionCache;
function gccVersion() {
  // A machine without gcc still gets a key (and `list` still works); the build then fails
  // with gcc's own "not found".
  try {
    gccVersionCache ??= execFileSync("gcc", ["--version"], { encoding: "utf8" }).split("\n")[0].trim();
  } catch {
    gccVersionCache ??= "no gcc";
  }
  return gccVersionCache;
}

/** The cache key: what is built and with which compilers. */
export function toolKey(name) {
  const dir = join(toolsRoot, name);
  const hash = createHash("sha256").update(goVersion());
  // gcc counts only for tools that use it, so the keys of pure-Go tools (and their caches)
  // stay as they were.
  if (readSpec(name).binaries.some((bin) => bin.cgo || bin.cSource)) hash.update("\0").update(gccVersion());
  for (const file of moduleFiles(dir)) {
    hash.update(file.slice(dir.length)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

function toolDir(name) {
  return join(cacheRoot(), `${name}-${toolKey(name)}`);
}

/** Path of a built binary, or undefined when the tool has not been built yet. */
export function builtBinary(name, binary) {
  const dir = toolDir(name);
  return existsSync(join(dir, ".complete")) ? join(dir, binary) : undefined;
}

function run(cmd, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(" ")} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

/** Runs a command to completion and resolves to {error, stdout, stderr}: it never rejects, as
 *  `go mod download -json` prints the JSON that explains its failure on standard output. */
function capture(cmd, args, options) {
  return new Promise((resolve) => {
    execFile(cmd, args, { ...options, encoding: "utf8", maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ error, stdout, stderr });
    });
  });
}

function goEnv(cgo) {
  return { ...process.env, CGO_ENABLED: cgo ? "1" : "0", GOFLAGS: "-mod=readonly -buildvcs=false", GOWORK: "off" };
}

async function buildGo(name, bin, out) {
  const args = ["build", "-trimpath", "-o", out];
  if (bin.ldflags) args.push("-ldflags", bin.ldflags);
  if (bin.tags) args.push("-tags", bin.tags);
  args.push(bin.package);
  await run("go", args, { cwd: join(toolsRoot, name), env: goEnv(bin.cgo) });
}

/**
 * A C program taken from a module of the wrapper's graph. `go mod download -json MODULE` in
 * the wrapper resolves MODULE to the version its go.mod selects (replacements included) and
 * checks it against go.sum; -mod=readonly keeps it from choosing any other version.
 */
async function buildC(name, bin, out) {
  const cwd = join(toolsRoot, name);
  const { module, path } = bin.cSource;
  const where = `tools/go/${name}/tool.json: ${bin.name}`;
  const { error, stdout, stderr } = await capture("go", ["mod", "download", "-json", module], { cwd, env: goEnv(false) });
  let info;
  try {
    info = JSON.parse(stdout);
  } catch {
    throw new Error(`${where}: go mod download ${module} failed: ${(stderr || error?.message || "no output").trim()}`);
  }
  if (info.Error) {
    throw new Error(`${where}: ${module} cannot be had from tools/go/${name}'s go.mod: ${info.Error}` +
      " (the module must be in the wrapper's graph; a blank import in tools.go keeps tidy from dropping it)");
  }
  if (error || !info.Dir) throw new Error(`${where}: go mod download ${module} failed: ${(stderr || error?.message || "no directory").trim()}`);
  const source = join(info.Dir, path);
  if (!existsSync(source)) throw new Error(`${where}: ${module}@${info.Version} has no file ${path}`);
  await run("gcc", [...(bin.cflags ?? []), "-o", out, source], { cwd });
}

async function acquireLock(lock) {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      return;
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
    }
    // A lock left by a build that died is taken over; a live builder is waited for.
    const owner = Number(readFileSync(join(lock, "pid"), "utf8").trim() || 0);
    if (owner && !isAlive(owner)) { rmSync(lock, { recursive: true, force: true }); continue; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock} (held by pid ${owner})`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function isAlive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/**
 * Build every binary of a tool (or reuse the cached build) and return its directory.
 * Concurrent callers wait on one build; a half-built directory is never visible.
 */
export async function ensureTool(name, log = (line) => process.stderr.write(`${line}\n`)) {
  const spec = readSpec(name);
  const dir = toolDir(name);
  if (existsSync(join(dir, ".complete"))) return dir;
  mkdirSync(cacheRoot(), { recursive: true });
  const lock = `${dir}.lock`;
  await acquireLock(lock);
  try {
    if (existsSync(join(dir, ".complete"))) return dir;
    const staging = `${dir}.partial`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const started = Date.now();
    for (const [i, bin] of spec.binaries.entries()) {
      log(`go-tools: building ${name}/${bin.name} (${i + 1}/${spec.binaries.length})` +
        (spec.coldBuildMinutes ? `, a cold build of ${name} takes about ${spec.coldBuildMinutes} min on 2 cores` : ""));
      if (bin.cSource) await buildC(name, bin, join(staging, bin.name));
      else await buildGo(name, bin, join(staging, bin.name));
    }
    writeFileSync(join(staging, ".complete"), JSON.stringify({ builtAt: new Date().toISOString(), seconds: (Date.now() - started) / 1000, go: goVersion() }));
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    removeOtherBuilds(name, dir);
    log(`go-tools: ${name} built in ${((Date.now() - started) / 1000).toFixed(0)} s -> ${dir}`);
    return dir;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The cache keeps one build per tool: older pinned versions go once a new one is built. */
function removeOtherBuilds(name, keep) {
  const pattern = new RegExp(`^${name}-[0-9a-f]{16}$`);
  for (const entry of readdirSync(cacheRoot())) {
    const path = join(cacheRoot(), entry);
    if (pattern.test(entry) && path !== keep) rmSync(path, { recursive: true, force: true });
  }
}

/** Path of one binary of a tool, building the tool first if needed. */
export async function toolBinary(name, binary) {
  const dir = await ensureTool(name);
  const path = join(dir, binary);
  if (!existsSync(path)) throw new Error(`go-tools: ${name} has no binary "${binary}" (see tools/go/${name}/tool.json)`);
  return path;
}

async function main(argv) {
  const [verb, ...rest] = argv;
  if (verb === "list") {
    for (const name of listTools()) console.log(`${name}\t${builtBinary(name, readSpec(name).binaries[0].name) ? "built" : "not built"}\t${toolDir(name)}`);
    return 0;
  }
  if (verb === "path" && rest.length === 2) {
    console.log(await toolBinary(rest[0], rest[1]));
    return 0;
  }
  if (verb === "build") {
    const budgetIndex = rest.indexOf("--budget-seconds");
    const budget = budgetIndex >= 0 ? Number(rest.splice(budgetIndex, 2)[1]) : Infinity;
    const names = rest.length > 0 ? rest : listTools();
    const started = Date.now();
    for (const name of names) {
      const elapsed = (Date.now() - started) / 1000;
      if (elapsed > budget) {
        console.error(`go-tools: budget of ${budget} s ran out before building ${name}`);
        return 2;
      }
      await ensureTool(name);
    }
    return 0;
  }
  console.error("usage: node tools/go-tools.mjs build [NAME...] [--budget-seconds N] | path NAME BINARY | list");
  return 2;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
    console.error(`go-tools: ${err.message}`);
    process.exit(1);
  });
}
