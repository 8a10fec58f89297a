import { chmod, copyFile, cp, mkdir, readdir, rename, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import type { ImageSpec } from "./dockerfile.js";
import { run } from "./shell.js";

/**
 * The runtime image's root filesystem, staged in a directory from what the host has: the
 * host's own node binary with the shared libraries it links (the image must run the same
 * Node the project was built and tested with, and no base image can be pulled), the
 * project's dist/ and production dependencies under the Dockerfile's WORKDIR, and the
 * few files a container expects (/etc/passwd, /etc/group, /tmp).
 */

/** Where the image's PATH finds `node` (the Dockerfile's ENTRYPOINT runs plain "node"). */
const IN_IMAGE_NODE = "/usr/local/bin/node";
const EXECUTABLE_MODE = 0o755;
/** /tmp: writable by everyone, entries removable only by their owners. */
const STICKY_WORLD_WRITABLE = 0o1777;
/** The name the Dockerfile's base image gives its uid 1000 user; kept so `ps` and logs read the same. */
const RUNTIME_USER_NAME = "node";
const ADDON_SUFFIX = ".node";
/** The Dockerfile's deps stage, with --prefer-offline: the host's npm cache is usually warm. */
const NPM_CI_ARGS = ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"];
/** Seconds with a warm npm cache; minutes when it downloads. This only bounds an npm that hangs. */
const NPM_CI_TIMEOUT_MS = 20 * 60_000;

/** Copies a host file to the same or another absolute path inside the root filesystem, following symlinks. */
export async function placeFile(rootfs: string, hostFile: string, inImagePath: string, mode?: number): Promise<void> {
  if (!isAbsolute(inImagePath)) throw new Error(`${inImagePath}: a path inside the image must be absolute`);
  const target = join(rootfs, inImagePath);
  await mkdir(dirname(target), { recursive: true });
  await copyFile(hostFile, target);
  if (mode !== undefined) await chmod(target, mode);
}

/**
 * The shared libraries a binary links and its dynamic loader, from `ldd`'s lines:
 * `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)`, `/lib64/ld-linux-x86-64.so.2 (0x…)`
 * and the kernel's `linux-vdso.so.1 (0x…)`, which has no file and is skipped.
 */
function parseLdd(output: string, binary: string): string[] {
  const libraries: string[] = [];
  for (const line of output.split("\n").map((l) => l.trim()).filter((l) => l !== "")) {
    if (line.includes("=> not found")) {
      throw new Error(`${binary} links ${line.split(/\s/)[0] ?? line}, which ldd cannot find on this host; the image cannot carry it`);
    }
    const path = /=>\s*(\/\S+)/.exec(line)?.[1] ?? /^(\/\S+)\s/.exec(line)?.[1];
    if (path !== undefined) libraries.push(path);
  }
  return libraries;
}

/** `uid[:gid]` of the Dockerfile's USER, which must be numeric (see the Dockerfile: so the kubelet can verify runAsNonRoot). */
function numericUser(user: string): { uid: number; gid: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(user);
  if (match?.[1] === undefined) {
    throw new Error(`Dockerfile USER ${user}: the dev cluster's image needs a numeric uid[:gid] (e.g. USER 1000:1000) to write /etc/passwd for`);
  }
  const uid = Number(match[1]);
  return { uid, gid: match[2] === undefined ? uid : Number(match[2]) };
}

async function writeUserDatabase(rootfs: string, user: string): Promise<void> {
  const { uid, gid } = numericUser(user);
  await mkdir(join(rootfs, "etc"), { recursive: true });
  const users = ["root:x:0:0:root:/root:/usr/sbin/nologin"];
  const groups = ["root:x:0:"];
  if (uid !== 0) users.push(`${RUNTIME_USER_NAME}:x:${uid}:${gid}::/home/${RUNTIME_USER_NAME}:/usr/sbin/nologin`);
  if (gid !== 0) groups.push(`${RUNTIME_USER_NAME}:x:${gid}:`);
  await writeFile(join(rootfs, "etc", "passwd"), `${users.join("\n")}\n`);
  await writeFile(join(rootfs, "etc", "group"), `${groups.join("\n")}\n`);
}

/**
 * Every shared library the given binaries link, copied to the path the binary's loader
 * looks for it at. The binaries are node and the production dependencies' native addons,
 * which link more than node does (@node-rs/crc32 needs librt).
 */
async function placeSharedLibraries(rootfs: string, binaries: readonly string[]): Promise<number> {
  const libraries = new Set<string>();
  for (const binary of binaries) {
    for (const library of parseLdd(await run("ldd", [binary], { what: `listing the shared libraries of ${binary}` }), binary)) libraries.add(library);
  }
  for (const library of libraries) await placeFile(rootfs, library, library);
  return libraries.size;
}

/** The native addons (`*.node`) below a node_modules directory. */
async function nativeAddons(nodeModules: string): Promise<string[]> {
  const relative = (await readdir(nodeModules, { recursive: true })).filter((path) => path.endsWith(ADDON_SUFFIX));
  const files: string[] = [];
  for (const path of relative) if ((await stat(join(nodeModules, path))).isFile()) files.push(join(nodeModules, path));
  return files;
}

/** Production dependencies exactly as the lock file pins them, made in `scratch` and moved into place. */
async function placeProductionModules(repoRoot: string, appDir: string, scratch: string, log: (line: string) => void): Promise<void> {
  const npmDir = join(scratch, "npm");
  await mkdir(npmDir, { recursive: true });
  for (const file of ["package.json", "package-lock.json"]) await copyFile(join(repoRoot, file), join(npmDir, file));
  log("image: installing production dependencies (npm ci --omit=dev)");
  await run("npm", NPM_CI_ARGS, {
    what: "installing the image's production dependencies",
    cwd: npmDir,
    timeoutMs: NPM_CI_TIMEOUT_MS,
    hint: "npm ci needs the registry or a warm npm cache (run `npm ci` in the repository once while online)",
  });
  await rename(join(npmDir, "node_modules"), join(appDir, "node_modules"));
}

/** repoRoot/dist, which the image carries: built by `npm run build`, never here. */
export async function builtDist(repoRoot: string): Promise<string> {
  const dist = join(repoRoot, "dist");
  if (!(await stat(dist).catch(() => undefined))?.isDirectory()) {
    throw new Error(`${dist} does not exist: the image carries the compiled code; run \`npm run build\` in ${repoRoot} first`);
  }
  return dist;
}

/**
 * Stages the runtime root filesystem in `rootfs` (an empty directory), using `scratch` (on
 * the same file system) for the npm install. Needs repoRoot/dist: built, not built here.
 */
export async function stageRuntimeRootfs(options: {
  repoRoot: string;
  rootfs: string;
  scratch: string;
  spec: ImageSpec;
  log: (line: string) => void;
}): Promise<void> {
  const { repoRoot, rootfs, spec, log } = options;
  const dist = await builtDist(repoRoot);
  await placeFile(rootfs, process.execPath, IN_IMAGE_NODE, EXECUTABLE_MODE);
  await writeUserDatabase(rootfs, spec.user);
  await mkdir(join(rootfs, "tmp"), { recursive: true });
  await chmod(join(rootfs, "tmp"), STICKY_WORLD_WRITABLE);

  const appDir = join(rootfs, spec.workdir);
  await mkdir(appDir, { recursive: true });
  log(`image: ${dist} and package.json -> ${spec.workdir}`);
  await cp(dist, join(appDir, "dist"), { recursive: true });
  await copyFile(join(repoRoot, "package.json"), join(appDir, "package.json"));
  await placeProductionModules(repoRoot, appDir, options.scratch, log);

  const addons = await nativeAddons(join(appDir, "node_modules"));
  const count = await placeSharedLibraries(rootfs, [process.execPath, ...addons]);
  log(`image: ${process.execPath} (${process.version}), ${addons.length} native addons and the ${count} shared libraries they link`);
}
