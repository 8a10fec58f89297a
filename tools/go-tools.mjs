#!/usr/bin/env node
// Test tooling built from Go modules (porcupine's checker, etcd, the Kubernetes control
// plane, helm, kwok). Each tool is a small wrapper module under tools/go/<name>/ whose
// go.mod and go.sum pin exactly what is built; tool.json names the binaries.
//
// Binaries are cached outside the clone, under the user's cache directory, keyed by a hash
// of the wrapper module (go.mod, go.sum, sources, tool.json) and the Go version, so a
// machine that built a tool once pays nothing on the next clean clone, and a change to
// the pinned versions builds afresh.
//
//   node tools/go-tools.mjs build [NAME...] [--budget-seconds N]   build (or reuse) tools
//   node tools/go-tools.mjs path NAME BINARY                       print a binary's path
//   node tools/go-tools.mjs list                                   list the tools
import { createHash } from "node:crypto";
import { spawn, execFileSync } from "node:child_process";
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

/** The cache key: what is built and with which compiler. */
export function toolKey(name) {
  const dir = join(toolsRoot, name);
  const hash = createHash("sha256").update(goVersion());
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
      const args = ["build", "-trimpath", "-o", join(staging, bin.name)];
      if (bin.ldflags) args.push("-ldflags", bin.ldflags);
      if (bin.tags) args.push("-tags", bin.tags);
      args.push(bin.package);
      await run("go", args, {
        cwd: join(toolsRoot, name),
        env: { ...process.env, CGO_ENABLED: bin.cgo ? "1" : "0", GOFLAGS: "-mod=readonly -buildvcs=false", GOWORK: "off" },
      });
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
