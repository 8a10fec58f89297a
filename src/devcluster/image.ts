import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtimeImageSpec } from "./dockerfile.js";
import { type BuiltImage, writeOciArchive } from "./oci-layout.js";
import { placeFile, stageRuntimeRootfs } from "./rootfs.js";

/**
 * The images a dev-cluster node runs, built without Docker or a registry: KVRaft's runtime
 * image (the Dockerfile's runtime stage, assembled from the host's node and the built
 * project) and single-binary images such as the Kubernetes pause container. Each is an OCI
 * layout tar for `ctr -n k8s.io images import FILE`.
 */

export { type ImageSpec, runtimeImageSpec } from "./dockerfile.js";
export { type BuiltImage, normalizedImageName } from "./oci-layout.js";

/** The image's PATH: where the rootfs puts node, then the usual places. */
const IMAGE_PATH = "/usr/local/bin:/usr/bin:/bin";
const EXECUTABLE_MODE = 0o755;
const SCRATCH_PREFIX = "kvraft-image-";

export type Log = (line: string) => void;
const silent: Log = () => undefined;

/** Runs `build` with fresh rootfs and scratch directories, removed afterwards whatever happens. */
async function withScratch<T>(build: (rootfs: string, scratch: string) => Promise<T>): Promise<T> {
  const scratch = await mkdtemp(join(tmpdir(), SCRATCH_PREFIX));
  try {
    const rootfs = join(scratch, "rootfs");
    await mkdir(rootfs);
    return await build(rootfs, scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * KVRaft's runtime image from repoRoot: the Dockerfile's WORKDIR, USER, ENTRYPOINT, CMD and
 * ENV; the host's node; dist/ (run `npm run build` first) and production node_modules.
 */
export async function buildRuntimeImage(options: { repoRoot: string; outFile: string; imageName: string; log?: Log }): Promise<BuiltImage> {
  const log = options.log ?? silent;
  const spec = runtimeImageSpec(await readFile(join(options.repoRoot, "Dockerfile"), "utf8"));
  return withScratch(async (rootfs, scratch) => {
    await stageRuntimeRootfs({ repoRoot: options.repoRoot, rootfs, scratch, spec, log });
    const env = { PATH: IMAGE_PATH, ...spec.env };
    return writeOciArchive({
      rootfs,
      workDir: scratch,
      outFile: options.outFile,
      imageName: options.imageName,
      config: {
        user: spec.user,
        env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        entrypoint: spec.entrypoint,
        cmd: spec.cmd,
        workingDir: spec.workdir,
      },
      log,
    });
  });
}

/**
 * An image holding one static binary at `inImagePath` and nothing else (the pause
 * container: it only sleeps, so it needs no libraries, users or /tmp). Runs as root, from /.
 */
export async function buildSingleBinaryImage(options: {
  binary: string;
  inImagePath: string;
  imageName: string;
  outFile: string;
  entrypoint: readonly string[];
  log?: Log;
}): Promise<BuiltImage> {
  return withScratch(async (rootfs, scratch) => {
    await placeFile(rootfs, options.binary, options.inImagePath, EXECUTABLE_MODE);
    return writeOciArchive({
      rootfs,
      workDir: scratch,
      outFile: options.outFile,
      imageName: options.imageName,
      config: { env: [`PATH=${IMAGE_PATH}`], entrypoint: options.entrypoint, workingDir: "/" },
      log: options.log ?? silent,
    });
  });
}
