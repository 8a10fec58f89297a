import { createHash, type Hash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildRuntimeImage, type Log } from "./image.js";
import { type BuiltImage, normalizedImageName } from "./oci-layout.js";
import { builtDist } from "./rootfs.js";

/**
 * The runtime image, rebuilt only when what goes into it changed. A build takes tens of
 * seconds (npm ci, packing ~100 MiB twice); `kvraft dev-cluster` starts far more often
 * than the code, the lock file or the host's node change.
 */

/** Bumped when the builder changes what it puts in an image, so that old cached images are rebuilt. */
const BUILDER_VERSION = "1";
const KEY_SUFFIX = ".key";

interface CacheRecord {
  readonly key: string;
  readonly digest: string;
  readonly layerBytes: number;
}

/** Hashes every file below `dir` by its path relative to `dir` and its bytes, in sorted order. */
async function hashTree(hash: Hash, dir: string, relative = ""): Promise<void> {
  const entries = (await readdir(join(dir, relative), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) {
      await hashTree(hash, dir, path);
    } else {
      hash.update(`file ${path}\0`);
      hash.update(await readFile(join(dir, path)));
      hash.update("\0");
    }
  }
}

/** Everything the runtime image is made from, as one hex digest. */
async function inputsKey(repoRoot: string, imageName: string): Promise<string> {
  const hash = createHash("sha256");
  const part = (label: string, value: string | Buffer): void => {
    hash.update(`${label}\0`);
    hash.update(value);
    hash.update("\0");
  };
  part("builder", BUILDER_VERSION);
  part("image", normalizedImageName(imageName));
  part("node", `${process.execPath} ${process.version}`);
  // package.json is copied into the image, beside what the lock file pins.
  for (const file of ["Dockerfile", "package.json", "package-lock.json"]) part(file, await readFile(join(repoRoot, file)));
  await hashTree(hash, await builtDist(repoRoot));
  return hash.digest("hex");
}

async function readRecord(file: string): Promise<CacheRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as Partial<CacheRecord>;
    if (typeof parsed.key === "string" && typeof parsed.digest === "string" && typeof parsed.layerBytes === "number") {
      return { key: parsed.key, digest: parsed.digest, layerBytes: parsed.layerBytes };
    }
  } catch {
    // No record, or one from an interrupted write: either way, build.
  }
  return undefined;
}

/**
 * The runtime image in `cacheDir` (one file per image name), built when missing or when
 * dist/, package.json, package-lock.json, the Dockerfile, the host's node or the name
 * changed since it was built; `reused` says which happened.
 */
export async function cachedRuntimeImage(options: { repoRoot: string; cacheDir: string; imageName: string; log?: Log }): Promise<BuiltImage & { reused: boolean }> {
  const log = options.log ?? (() => undefined);
  const fileName = normalizedImageName(options.imageName).replace(/[/:]/g, "_");
  const outFile = join(options.cacheDir, `${fileName}.oci.tar`);
  const keyFile = `${outFile}${KEY_SUFFIX}`;
  const key = await inputsKey(options.repoRoot, options.imageName);
  const record = await readRecord(keyFile);
  if (record?.key === key && existsSync(outFile)) {
    log(`image: ${outFile} is up to date (${record.digest})`);
    return { file: outFile, digest: record.digest, layerBytes: record.layerBytes, reused: true };
  }
  log(`image: ${record === undefined ? "no cached image" : "inputs changed since the cached image"}; building ${outFile}`);
  // The old record goes first: were the build to replace the image and then stop before
  // the new record is written, the old record must not vouch for the new file.
  await rm(keyFile, { force: true });
  const built = await buildRuntimeImage({ repoRoot: options.repoRoot, outFile, imageName: options.imageName, log });
  // Renamed into place, so that the record is read whole or not at all.
  const partial = `${keyFile}.partial`;
  await writeFile(partial, JSON.stringify({ key, digest: built.digest, layerBytes: built.layerBytes } satisfies CacheRecord));
  await rename(partial, keyFile);
  return { ...built, reused: false };
}
