import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { run } from "./shell.js";

/**
 * An OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
 * written from a staged root filesystem and packed into one tar, the form
 * `ctr -n k8s.io images import FILE` takes. One uncompressed layer: the file is imported
 * on the same machine, so compressing it would only cost time.
 */

const MEDIA_TYPE_INDEX = "application/vnd.oci.image.index.v1+json";
const MEDIA_TYPE_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const MEDIA_TYPE_CONFIG = "application/vnd.oci.image.config.v1+json";
const MEDIA_TYPE_LAYER = "application/vnd.oci.image.layer.v1.tar";
const IMAGE_LAYOUT_VERSION = "1.0.0";
/** The annotation containerd's importer names the image by. */
const ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name";
const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";
/** Docker Hub, and its namespace for one-word names: where containerd puts `kvraft:0.1.0`. */
const DEFAULT_REGISTRY = "docker.io";
const DEFAULT_NAMESPACE = "library";
const DEFAULT_TAG = "latest";
/** Node's names for the CPU against the OCI's (GOARCH) ones. */
const OCI_ARCHITECTURE: Readonly<Record<string, string>> = { x64: "amd64", arm64: "arm64" };

/**
 * Every tar here is reproducible (same input, same bytes, same digest) and owned by root,
 * whoever runs the build. `--mode=a+rX` makes everything readable and every directory
 * enterable by the image's non-root user even if the staging umask was strict (a temporary
 * directory is made 0700), without dropping write bits (/tmp keeps 1777).
 */
const REPRODUCIBLE_TAR_FLAGS = ["--numeric-owner", "--owner=0", "--group=0", "--sort=name", "--mtime=@0", "--mode=a+rX"];
/** Packing ~180 MiB takes seconds; this only bounds a tar stuck on a slow or full disk. */
const PACK_TIMEOUT_MS = 10 * 60_000;
const GNU_TAR_HINT = "the image builder needs GNU tar (for --sort and --mtime)";

/** The image's runtime settings, as the OCI image config's `config` object holds them. */
export interface ContainerConfig {
  readonly user?: string;
  readonly env: readonly string[];
  readonly entrypoint: readonly string[];
  readonly cmd?: readonly string[];
  readonly workingDir: string;
}

export interface BuiltImage {
  /** The OCI layout tar, ready for `ctr -n k8s.io images import`. */
  readonly file: string;
  /** The manifest's digest (`sha256:…`): what containerd lists as the image's digest. */
  readonly digest: string;
  /** Size of the one (uncompressed) layer. */
  readonly layerBytes: number;
}

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

/**
 * A reference as containerd normalizes it: `kvraft:0.1.0` -> `docker.io/library/kvraft:0.1.0`,
 * `localhost/x:1` and `example.com/a/b:t` unchanged, no tag -> `:latest`. Pods name the
 * image by whatever the kubelet normalizes to the same, so the import must use this form.
 */
export function normalizedImageName(name: string): string {
  if (name.includes("@")) throw new Error(`image name ${name}: a digest reference cannot name an image being built; use NAME:TAG`);
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  // Docker's rule: the first component is a registry if it looks like a host.
  const hasRegistry = first.includes(".") || first.includes(":") || first === "localhost";
  const registry = hasRegistry ? first : DEFAULT_REGISTRY;
  let path = hasRegistry ? name.slice(slash + 1) : name;
  let tag = DEFAULT_TAG;
  const colon = path.lastIndexOf(":");
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
  }
  if (registry === DEFAULT_REGISTRY && !path.includes("/")) path = `${DEFAULT_NAMESPACE}/${path}`;
  // The grammar of github.com/distribution/reference: host[:port], path components, tag.
  const host = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d+)?$/;
  const component = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
  if (!host.test(registry) || !path.split("/").every((part) => component.test(part)) || !/^\w[\w.-]{0,127}$/.test(tag)) {
    throw new Error(`image name ${name} is not a valid reference: lower-case path components of letters, digits and . _ -, ` +
      "then an optional :TAG (e.g. kvraft:0.1.0)");
  }
  return `${registry}/${path}:${tag}`;
}

/** The OCI name of this machine's CPU architecture. */
export function ociArchitecture(): string {
  const architecture = OCI_ARCHITECTURE[process.arch];
  if (architecture === undefined) throw new Error(`no OCI architecture known for this machine's ${process.arch}: the image builder supports x64 and arm64`);
  return architecture;
}

/** sha256 and size of a file, read as a stream so that a large layer never sits in memory. */
async function fileDigest(file: string): Promise<{ readonly digest: string; readonly hex: string; readonly size: number }> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  const hex = hash.digest("hex");
  return { digest: `sha256:${hex}`, hex, size: (await stat(file)).size };
}

async function writeJsonBlob(blobs: string, mediaType: string, value: unknown): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash("sha256").update(bytes).digest("hex");
  await writeFile(join(blobs, hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

/**
 * Packs `rootfs` as the one layer of an image named `imageName` and writes the layout tar
 * to `outFile` (through a `.partial` file renamed at the end, so a failed build never
 * leaves a truncated image where a cache would take it for a good one). `workDir` is a
 * scratch directory for the layer and the layout; the caller removes it.
 */
export async function writeOciArchive(options: {
  rootfs: string;
  workDir: string;
  outFile: string;
  imageName: string;
  config: ContainerConfig;
  log: (line: string) => void;
}): Promise<BuiltImage> {
  const { workDir, log } = options;
  const fullName = normalizedImageName(options.imageName);
  const architecture = ociArchitecture();
  const layout = join(workDir, "layout");
  const blobs = join(layout, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });

  log("image: packing the root filesystem into one layer (GNU tar)");
  const layerTar = join(workDir, "layer.tar");
  await run("tar", [...REPRODUCIBLE_TAR_FLAGS, "-C", options.rootfs, "-cf", layerTar, "."],
    { what: "packing the image's layer", timeoutMs: PACK_TIMEOUT_MS, hint: GNU_TAR_HINT });
  const layer = await fileDigest(layerTar);
  await rename(layerTar, join(blobs, layer.hex));
  log(`image: layer ${layer.digest} (${(layer.size / 2 ** 20).toFixed(1)} MiB)`);

  const { user, env, entrypoint, cmd, workingDir } = options.config;
  const config = await writeJsonBlob(blobs, MEDIA_TYPE_CONFIG, {
    architecture,
    os: "linux",
    config: { ...(user === undefined ? {} : { User: user }), Env: env, Entrypoint: entrypoint, ...(cmd === undefined ? {} : { Cmd: cmd }), WorkingDir: workingDir },
    // An uncompressed layer's digest is its diff_id.
    rootfs: { type: "layers", diff_ids: [layer.digest] },
  });
  const manifest = await writeJsonBlob(blobs, MEDIA_TYPE_MANIFEST, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config,
    layers: [{ mediaType: MEDIA_TYPE_LAYER, digest: layer.digest, size: layer.size }],
  });
  const tag = fullName.slice(fullName.lastIndexOf(":") + 1);
  await writeFile(join(layout, "index.json"), JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_INDEX,
    manifests: [{
      ...manifest,
      // The platform on the descriptor lets `ctr images import` (current platform only) pick it without reading the config.
      platform: { architecture, os: "linux" },
      annotations: { [ANNOTATION_CONTAINERD_NAME]: fullName, [ANNOTATION_REF_NAME]: tag },
    }],
  }));
  await writeFile(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: IMAGE_LAYOUT_VERSION }));

  log(`image: writing ${fullName} to ${options.outFile}`);
  await mkdir(dirname(options.outFile), { recursive: true });
  const partial = join(dirname(options.outFile), `.${basename(options.outFile)}.partial`);
  try {
    // Members named without "./" so that every reader of the layout finds index.json by its plain name.
    await run("tar", [...REPRODUCIBLE_TAR_FLAGS, "-C", layout, "-cf", partial, "oci-layout", "index.json", "blobs"],
      { what: "packing the OCI layout", timeoutMs: PACK_TIMEOUT_MS, hint: GNU_TAR_HINT });
    await rename(partial, options.outFile);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { file: options.outFile, digest: manifest.digest, layerBytes: layer.size };
}
