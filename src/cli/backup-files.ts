import { InvariantError } from "../assert/invariant.js";
import { crc32c } from "@node-rs/crc32";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { BackupFormatError, type BackupMeta, BackupReader, BODY_FORMAT_KV_SNAPSHOT, hex32, readBackup, type VerifiedBackup } from "../backup/index.js";
import { CliError, EXIT } from "./cluster-access.js";
import { report } from "./kv-commands.js";
import { writeTerminationMessage } from "./termination-message.js";

type Output = "table" | "json";

/** Exit status of verify, describe and restore for a file that is damaged, truncated or not a backup. */
export const EXIT_NOT_A_SOUND_BACKUP = 1;
/** Bytes read from a backup file at a time: its body never needs to be in memory whole to be checked. */
const READ_SLICE_BYTES = 1024 * 1024;
/** Files `backup list` looks at in one directory (it opens each to read its header). */
const LIST_FILES_MAX = 10_000;

/** Reads `file` to its end and checks every checksum; `onBody` sees the body as it passes. */
export async function verifyFile(file: string, onBody?: (slice: Uint8Array) => void): Promise<VerifiedBackup> {
  try {
    return await readBackup(createReadStream(file, { highWaterMark: READ_SLICE_BYTES }), crc32c, onBody);
  } catch (error) {
    throw asCliError(file, error);
  }
}

/** The header of `file`, checked; the body is not read. */
export async function readHeader(file: string): Promise<BackupMeta> {
  const reader = new BackupReader(crc32c);
  try {
    for await (const slice of createReadStream(file, { highWaterMark: 64 * 1024 })) {
      reader.push(slice as Uint8Array);
      if (reader.meta !== undefined) return reader.meta;
    }
    reader.end();
  } catch (error) {
    throw asCliError(file, error);
  }
  throw new InvariantError(`a backup reader that returned no metadata threw at its end (${file})`);
}

function asCliError(file: string, error: unknown): CliError {
  if (error instanceof BackupFormatError) return new CliError(EXIT_NOT_A_SOUND_BACKUP, `${file} is not a sound KVRaft backup: ${error.message}`);
  const code = (error as { code?: unknown }).code;
  if (code === "ENOENT") return new CliError(EXIT.usage, `${file} does not exist`);
  if (code === "EISDIR") return new CliError(EXIT.usage, `${file} is a directory: give a backup file (kvraft backup list ${file} shows the ones in it)`);
  return new CliError(EXIT.usage, `cannot read ${file}: ${(error as Error).message}`);
}

/** The metadata as JSON: times as ISO text beside the ms, checksums in hex. */
export function metaJson(file: string, meta: BackupMeta, fileBytes: number, verified: VerifiedBackup | undefined): Record<string, unknown> {
  return {
    file, clusterId: meta.clusterId, revision: meta.revision, raftIndex: meta.raftIndex, raftTerm: meta.raftTerm,
    voters: meta.voters, learners: meta.learners, kvraftVersion: meta.kvraftVersion,
    takenAt: new Date(meta.takenAtMs).toISOString(), takenAtMs: meta.takenAtMs, bodyFormat: meta.bodyFormat, fileBytes,
    ...(verified === undefined ? { verified: false } : { verified: true, bodyBytes: verified.trailer.bodyBytes, bodyCrc32c: hex32(verified.trailer.bodyCrc32c), fileCrc32c: hex32(verified.trailer.fileCrc32c) }),
  };
}

function metaText(file: string, meta: BackupMeta, fileBytes: number, verified: VerifiedBackup | undefined): string {
  const members = `voters ${meta.voters.join(",") || "none"}; learners ${meta.learners.join(",") || "none"}`;
  return [
    `file        ${file} (${fileBytes} bytes)`,
    `cluster     ${meta.clusterId}`,
    `revision    ${meta.revision} (raft index ${meta.raftIndex}, term ${meta.raftTerm === 0 ? "unknown" : meta.raftTerm})`,
    `members     ${members}`,
    `taken at    ${new Date(meta.takenAtMs).toISOString()}, from KVRaft ${meta.kvraftVersion || "(unknown version)"}`,
    verified === undefined
      ? `checksums   not checked: kvraft backup verify ${file} reads it whole`
      : `checksums   ok (body ${meta.bodyFormat}, ${verified.trailer.bodyBytes} bytes, CRC32C ${hex32(verified.trailer.bodyCrc32c)}; file CRC32C ${hex32(verified.trailer.fileCrc32c)})`,
    "",
  ].join("\n");
}

export async function verifyCommand(file: string, output: Output): Promise<void> {
  const verified = await verifyFile(file);
  report(output, metaJson(file, verified.meta, verified.fileBytes, verified), metaText(file, verified.meta, verified.fileBytes, verified));
}

export async function describeCommand(file: string, output: Output): Promise<void> {
  const meta = await readHeader(file);
  const { size } = await stat(file);
  report(output, metaJson(file, meta, size, undefined), metaText(file, meta, size, undefined));
}

/** Every backup in `dir` by its header (not verified), oldest first; other files are skipped, partial ones named. */
export async function listCommand(dir: string, output: Output): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
  } catch (error) {
    throw asCliError(dir, error);
  }
  if (names.length > LIST_FILES_MAX) throw new CliError(EXIT.usage, `${dir} holds ${names.length} files, more than the ${LIST_FILES_MAX} list reads: give a directory of backups`);
  const backups: Record<string, unknown>[] = [];
  const others: string[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      const meta = await readHeader(file);
      backups.push({ ...metaJson(name, meta, (await stat(file)).size, undefined), partial: name.endsWith(".partial") });
    } catch {
      others.push(name);
    }
  }
  backups.sort((a, b) => (a["takenAtMs"] as number) - (b["takenAtMs"] as number));
  const rows = backups.map((b) => `${String(b["takenAt"]).padEnd(26)}${String(b["revision"]).padStart(10)}  ${String(b["fileBytes"]).padStart(12)}  ${String(b["clusterId"]).padEnd(38)}${String(b["file"])}${b["partial"] === true ? "  (incomplete transfer: not a backup)" : ""}`);
  const header = `${"TAKEN AT".padEnd(26)}${"REVISION".padStart(10)}  ${"BYTES".padStart(12)}  ${"CLUSTER".padEnd(38)}FILE`;
  const footer = others.length === 0 ? "" : `(${others.length} other file${others.length === 1 ? "" : "s"} skipped: not KVRaft backups)\n`;
  report(output, { dir, backups, skipped: others }, backups.length === 0 ? `no KVRaft backups in ${dir}\n${footer}` : `${[header, ...rows].join("\n")}\n${footer}`);
}

/** Where `restore` founds the new member, beyond its data dir and id. */
export interface RestoreOptions {
  /** The new cluster's id (default: a random one). */
  readonly clusterId?: string;
  /** Also write the outcome as JSON here (a Kubernetes Job's /dev/termination-log). */
  readonly terminationMessagePath?: string;
}

/** Checks the backup whole, then founds a new one-member cluster from its body as `snapshot restore` does. */
export async function restoreCommand(file: string, dataDir: string, id: number, output: Output, options: RestoreOptions = {}): Promise<void> {
  const startedMs = Date.now();
  try {
    // Imported here: it brings the state machine and storage, which the other verbs never need.
    const { requireEmptyDataDir, restoreState } = await import("./snapshot-run.js");
    await requireEmptyDataDir(dataDir);
    const body: Uint8Array[] = [];
    const verified = await verifyFile(file, (slice) => body.push(Uint8Array.from(slice)));
    if (verified.meta.bodyFormat !== BODY_FORMAT_KV_SNAPSHOT) {
      throw new CliError(EXIT_NOT_A_SOUND_BACKUP, `${file} holds a "${verified.meta.bodyFormat}" body, and this build restores only "${BODY_FORMAT_KV_SNAPSHOT}": use a newer KVRaft`);
    }
    const restored = await restoreState(Buffer.concat(body), file, dataDir, id, output, options.clusterId);
    await writeTerminationMessage(options.terminationMessagePath, {
      phase: "Completed", revision: restored.revision, clusterId: verified.meta.clusterId, durationMs: Date.now() - startedMs,
      message: `restored revision ${restored.revision} (${restored.keys} keys) of cluster ${verified.meta.clusterId} as member ${id} of cluster ${restored.clusterId}`,
    });
  } catch (error) {
    await writeTerminationMessage(options.terminationMessagePath, { phase: "Failed", durationMs: Date.now() - startedMs, message: (error as Error).message });
    throw error;
  }
}
