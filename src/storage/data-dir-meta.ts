/**
 * The data dir's metadata file: format version, member id and cluster id, with a CRC32C.
 * Written once, atomically, when a data dir is first used; checked at every start so that
 * a server never runs on another member's or another cluster's data.
 */
import { crc32c } from "@node-rs/crc32";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { NodeId } from "../raft/types.js";
import { CorruptDataError, DataDirMismatchError, UnsupportedFormatError } from "./errors.js";
import { type FileIo, errorCode, writeFileDurably } from "./file-io.js";
import { META_FILE } from "./file-names.js";

export const DATA_DIR_FORMAT_VERSION = 1;

export interface DataDirIdentity {
  readonly memberId: NodeId;
  readonly clusterId: string;
}

const metaSchema = z.object({
  formatVersion: z.number().int(),
  memberId: z.number().int().positive(),
  clusterId: z.string().min(1),
  checksum: z.number().int(),
});

function checksumOf(formatVersion: number, identity: DataDirIdentity): number {
  return crc32c(JSON.stringify({ formatVersion, memberId: identity.memberId, clusterId: identity.clusterId }));
}

/**
 * Checks the metadata file against `identity`, or creates it when absent and the dir
 * holds no data yet. Returns whether it was created (a fresh data dir).
 */
export async function checkOrCreateMeta(
  io: FileIo,
  dir: string,
  identity: DataDirIdentity,
  dirHoldsData: boolean,
): Promise<{ readonly created: boolean }> {
  const file = join(dir, META_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw error;
    if (dirHoldsData) {
      throw new CorruptDataError("the data dir holds WAL or snapshot files but no metadata file", { file });
    }
    const meta = {
      formatVersion: DATA_DIR_FORMAT_VERSION,
      memberId: identity.memberId,
      clusterId: identity.clusterId,
      checksum: checksumOf(DATA_DIR_FORMAT_VERSION, identity),
    };
    await writeFileDurably(io, dir, META_FILE, Buffer.from(`${JSON.stringify(meta)}\n`));
    return { created: true };
  }
  verifyMeta(file, text, identity);
  return { created: false };
}

function verifyMeta(file: string, text: string, identity: DataDirIdentity): void {
  let parsed: z.infer<typeof metaSchema>;
  try {
    parsed = metaSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new CorruptDataError("the metadata file does not parse", { file, cause: error });
  }
  // The version is checked first: a newer format may change every other field.
  if (parsed.formatVersion !== DATA_DIR_FORMAT_VERSION) {
    throw new UnsupportedFormatError(file, parsed.formatVersion, DATA_DIR_FORMAT_VERSION);
  }
  const found = { memberId: parsed.memberId, clusterId: parsed.clusterId };
  if (checksumOf(parsed.formatVersion, found) !== parsed.checksum) {
    throw new CorruptDataError("the metadata file failed its CRC32C", { file });
  }
  if (found.clusterId !== identity.clusterId) {
    throw new DataDirMismatchError(file, "clusterId", identity.clusterId, found.clusterId);
  }
  if (found.memberId !== identity.memberId) {
    throw new DataDirMismatchError(file, "memberId", String(identity.memberId), String(found.memberId));
  }
}
