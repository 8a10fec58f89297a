/**
 * The dev cluster's images, built without Docker or a registry: the runtime image's
 * settings come from the Dockerfile (one source of truth), the OCI layout is what
 * `ctr images import` reads (digests that match their blobs, containerd's name
 * annotation), and the runtime image holds what runs: the host's node with its libraries,
 * dist/ and production dependencies only.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cachedRuntimeImage } from "../../src/devcluster/image-cache.js";
import { buildRuntimeImage, buildSingleBinaryImage, normalizedImageName, runtimeImageSpec } from "../../src/devcluster/image.js";
import { MEMBER_NODE_FLAGS } from "../../src/server/member-node-flags.js";

const run = promisify(execFile);
const REPO_ROOT = join(import.meta.dirname, "..", "..");
/** npm ci and packing ~180 MiB twice: about 15 s on two busy cores; room for a slow CI disk. */
const RUNTIME_BUILD_TIMEOUT_MS = 180_000;
const IMAGE_NAME = "kvraft:0.1.0";

interface Descriptor { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }
interface Index { manifests: Descriptor[] }
interface Manifest { mediaType: string; config: Descriptor; layers: Descriptor[] }
interface ImageConfig {
  architecture: string;
  os: string;
  config: { User?: string; Env: string[]; Entrypoint: string[]; Cmd?: string[]; WorkingDir: string };
  rootfs: { type: string; diff_ids: string[] };
}

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kvraft-image-test-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

async function sha256(file: string): Promise<string> {
  return `sha256:${createHash("sha256").update(await readFile(file)).digest("hex")}`;
}

const blobPath = (layout: string, digest: string): string => join(layout, "blobs", "sha256", digest.replace(/^sha256:/, ""));

/** Unpacks an image tar and checks that every descriptor's digest and size are its blob's; returns the parts. */
async function openLayout(file: string): Promise<{ layout: string; index: Index; manifest: Manifest; config: ImageConfig; layer: string }> {
  const layout = await tempDir();
  await run("tar", ["-xf", file, "-C", layout]);
  expect(JSON.parse(await readFile(join(layout, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as Index;
  expect(index.manifests).toHaveLength(1);
  const checked = async (descriptor: Descriptor): Promise<string> => {
    const path = blobPath(layout, descriptor.digest);
    expect(await sha256(path), `blob of ${descriptor.mediaType}`).toBe(descriptor.digest);
    expect((await readFile(path)).length).toBe(descriptor.size);
    return path;
  };
  const manifestDescriptor = index.manifests[0] as Descriptor;
  expect(manifestDescriptor.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
  const manifest = JSON.parse(await readFile(await checked(manifestDescriptor), "utf8")) as Manifest;
  expect(manifest.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
  expect(manifest.config.mediaType).toBe("application/vnd.oci.image.config.v1+json");
  const config = JSON.parse(await readFile(await checked(manifest.config), "utf8")) as ImageConfig;
  expect(manifest.layers).toHaveLength(1);
  const layerDescriptor = manifest.layers[0] as Descriptor;
  expect(layerDescriptor.mediaType).toBe("application/vnd.oci.image.layer.v1.tar");
  const layer = await checked(layerDescriptor);
  expect(config.rootfs).toEqual({ type: "layers", diff_ids: [layerDescriptor.digest] });
  return { layout, index, manifest, config, layer };
}

async function layerEntries(layer: string): Promise<Set<string>> {
  const { stdout } = await run("tar", ["-tf", layer], { maxBuffer: 64 * 1024 * 1024 });
  return new Set(stdout.split("\n").filter((line) => line !== "").map((line) => line.replace(/^\.\//, "")));
}

describe("runtimeImageSpec", () => {
  it("reads the repository's Dockerfile: the one source of truth for the runtime image's settings", async () => {
    const spec = runtimeImageSpec(await readFile(join(REPO_ROOT, "Dockerfile"), "utf8"));
    expect(spec).toEqual({
      workdir: "/app",
      user: "1000:1000",
      entrypoint: ["node", ...MEMBER_NODE_FLAGS, "dist/cli.js"],
      cmd: ["--help"],
      env: { NODE_ENV: "production" },
    });
  });

  const runtime = (lines: string[]): string => ["FROM node:26 AS build", "RUN true", "FROM node:26 AS runtime", ...lines].join("\n");
  const complete = ["ENV NODE_ENV=production", "WORKDIR /app", "USER 1000:1000", "ENTRYPOINT [\"node\", \"dist/cli.js\"]", "CMD [\"--help\"]"];

  it("follows ENV's forms, relative WORKDIRs, and the last ENTRYPOINT", () => {
    const spec = runtimeImageSpec(runtime([...complete, "ENV A=1 B=\"two words\"", "ENV LEGACY spaced value", "WORKDIR sub", "ENTRYPOINT [\"/bin/x\"]"]));
    expect(spec.env).toEqual({ NODE_ENV: "production", A: "1", B: "two words", LEGACY: "spaced value" });
    expect(spec.workdir).toBe("/app/sub");
    expect(spec.entrypoint).toEqual(["/bin/x"]);
  });

  it.each([
    ["no USER", complete.filter((l) => !l.startsWith("USER")), /final stage \(runtime\): no USER instruction/],
    ["no WORKDIR", complete.filter((l) => !l.startsWith("WORKDIR")), /no WORKDIR instruction/],
    ["no CMD", complete.filter((l) => !l.startsWith("CMD")), /no CMD instruction/],
    ["a shell-form ENTRYPOINT", [...complete, "ENTRYPOINT node dist/cli.js"], /ENTRYPOINT node dist\/cli.js is not in exec form; write it as a JSON array/],
    ["a CMD of numbers", [...complete, "CMD [1, 2]"], /CMD \[1, 2\] is not in exec form/],
    ["a variable in USER", [...complete, "USER ${UID}"], /USER \$\{UID\} uses a variable/],
  ])("says which instruction is wrong: %s", (_what, lines, message) => {
    expect(() => runtimeImageSpec(runtime(lines))).toThrow(message);
  });

  it("says so when there is no stage at all", () => {
    expect(() => runtimeImageSpec("# only a comment\n")).toThrow(/no FROM instruction/);
  });
});

describe("normalizedImageName", () => {
  it.each([
    ["kvraft:0.1.0", "docker.io/library/kvraft:0.1.0"],
    ["kvraft", "docker.io/library/kvraft:latest"],
    ["someone/kvraft:1", "docker.io/someone/kvraft:1"],
    ["docker.io/kvraft:1", "docker.io/library/kvraft:1"],
    ["localhost/x:1", "localhost/x:1"],
    ["localhost:5000/x", "localhost:5000/x:latest"],
    ["example.com/a/b:t", "example.com/a/b:t"],
    ["registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"],
  ])("%s -> %s", (name, normalized) => {
    expect(normalizedImageName(name)).toBe(normalized);
  });

  it.each(["KVRaft:1", "kvraft:bad/tag", "kvraft@sha256:00", "a//b:1", ""])("refuses %j", (name) => {
    expect(() => normalizedImageName(name)).toThrow(/image name/);
  });
});

describe("buildSingleBinaryImage", () => {
  it("writes an OCI layout whose digests match their blobs, named for containerd, holding the one file", async () => {
    const dir = await tempDir();
    // Any bytes do: the layout is checked, not run (the pause binary is built elsewhere).
    const binary = join(dir, "pause-binary");
    await writeFile(binary, "\x7fELF not really a program\n");
    const built = await buildSingleBinaryImage({
      binary, inImagePath: "/pause", imageName: "registry.k8s.io/pause:3.10", outFile: join(dir, "out", "pause.tar"), entrypoint: ["/pause"],
    });
    expect(built.file).toBe(join(dir, "out", "pause.tar"));

    const { index, config, layer } = await openLayout(built.file);
    const manifestDescriptor = index.manifests[0] as Descriptor;
    expect(manifestDescriptor.digest).toBe(built.digest);
    expect(manifestDescriptor.annotations).toEqual({
      "io.containerd.image.name": "registry.k8s.io/pause:3.10",
      "org.opencontainers.image.ref.name": "3.10",
    });
    expect(config.architecture).toBe("amd64");
    expect(config.os).toBe("linux");
    expect(config.config).toEqual({ Env: ["PATH=/usr/local/bin:/usr/bin:/bin"], Entrypoint: ["/pause"], WorkingDir: "/" });
    expect((await readFile(layer)).length).toBe(built.layerBytes);

    const { stdout } = await run("tar", ["-tvf", layer]);
    const pauseLine = stdout.split("\n").find((line) => line.endsWith(" ./pause"));
    expect(pauseLine, stdout).toMatch(/^-rwxr-xr-x 0\/0 /);
  });
});

describe("buildRuntimeImage", () => {
  it("says to build first when dist/ is missing", async () => {
    const repoRoot = await tempDir();
    await writeFile(join(repoRoot, "Dockerfile"), await readFile(join(REPO_ROOT, "Dockerfile")));
    await expect(buildRuntimeImage({ repoRoot, outFile: join(repoRoot, "image.tar"), imageName: IMAGE_NAME }))
      .rejects.toThrow(/dist does not exist: .*run `npm run build`/);
  });
});

describe("the runtime image", () => {
  let cacheDir = "";
  let first: Awaited<ReturnType<typeof cachedRuntimeImage>>;
  let parts: Awaited<ReturnType<typeof openLayout>>;
  let entries: Set<string>;

  beforeAll(async () => {
    cacheDir = await tempDir();
    // Needs dist/ (`npm run build`, which `npm test` runs first); the builder says so if it is missing.
    first = await cachedRuntimeImage({ repoRoot: REPO_ROOT, cacheDir, imageName: IMAGE_NAME });
    parts = await openLayout(first.file);
    entries = await layerEntries(parts.layer);
  }, RUNTIME_BUILD_TIMEOUT_MS);

  it("takes its settings from the Dockerfile and its name from containerd's normalization", () => {
    expect(first.reused).toBe(false);
    expect(parts.index.manifests[0]?.annotations?.["io.containerd.image.name"]).toBe("docker.io/library/kvraft:0.1.0");
    expect(parts.config.config).toEqual({
      User: "1000:1000",
      Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production"],
      Entrypoint: ["node", ...MEMBER_NODE_FLAGS, "dist/cli.js"],
      Cmd: ["--help"],
      WorkingDir: "/app",
    });
  });

  it("holds node, its loader, dist/, package.json and production dependencies only", () => {
    for (const path of ["usr/local/bin/node", "lib64/ld-linux-x86-64.so.2", "etc/passwd", "etc/group", "tmp/",
      "app/package.json", "app/dist/cli.js", "app/node_modules/commander/package.json", "app/node_modules/@node-rs/crc32/package.json"]) {
      expect(entries.has(path), path).toBe(true);
    }
    for (const devOnly of ["vitest", "typescript", "eslint", "tsx"]) {
      expect([...entries].some((e) => e.startsWith(`app/node_modules/${devOnly}/`)), `dev dependency ${devOnly}`).toBe(false);
    }
    expect([...entries].some((e) => e.startsWith("app/src/")), "no sources").toBe(false);
  });

  it("is reused while nothing changed, and rebuilt byte for byte the same when its record no longer matches", async () => {
    const again = await cachedRuntimeImage({ repoRoot: REPO_ROOT, cacheDir, imageName: IMAGE_NAME });
    expect(again).toEqual({ ...first, reused: true });

    await writeFile(`${first.file}.key`, JSON.stringify({ key: "something changed", digest: first.digest, layerBytes: first.layerBytes }));
    const rebuilt = await cachedRuntimeImage({ repoRoot: REPO_ROOT, cacheDir, imageName: IMAGE_NAME });
    expect(rebuilt).toEqual({ ...first, reused: false });
  }, RUNTIME_BUILD_TIMEOUT_MS);

  // chroot needs root. CI runs as root, so this runs there; elsewhere it is skipped.
  it.skipIf(process.getuid?.() !== 0)("runs: node starts in the rootfs, and the entrypoint and the native addon load as uid 1000", async () => {
    const rootfs = await tempDir();
    await run("tar", ["-xf", parts.layer, "-C", rootfs]);
    // Only PATH (to find chroot): nothing of the host's environment should make this pass.
    const env = { PATH: process.env.PATH };
    expect((await run("chroot", [rootfs, "/usr/local/bin/node", "-e", "console.log(1)"], { env })).stdout).toBe("1\n");

    const asUser = ["--userspec=1000:1000", rootfs, "/usr/local/bin/node"];
    const help = await run("chroot", [...asUser, "/app/dist/cli.js", "--help"], { env });
    expect(help.stdout).toMatch(/Usage: kvraft/);
    const crc = "console.log(require('node:module').createRequire('/app/package.json')('@node-rs/crc32').crc32c('abc'))";
    expect((await run("chroot", [...asUser, "-e", crc], { env })).stdout.trim()).toMatch(/^\d+$/);
  });
});
