/**
 * The whole-data CRC32C of a snapshot (SnapshotMeta.checksum), as storage keeps it: a
 * snapshot written or checked with a checksum must match it; one without (made by an
 * older build) gets the checksum of the bytes storage holds, so this member can send it on.
 */
import type { SnapshotMeta } from "../raft/types.js";
import { CorruptDataError } from "./errors.js";

/** `meta` with the checksum of its data; throws CorruptDataError if it carries another one. */
export function metaWithChecksum(meta: SnapshotMeta, dataCrc: number, file: string): SnapshotMeta {
  if (meta.checksum === undefined) return { ...meta, checksum: dataCrc };
  if (meta.checksum !== dataCrc) {
    throw new CorruptDataError(
      `the data of snapshot ${meta.index} has CRC32C ${hex32(dataCrc)}, its meta says ${hex32(meta.checksum)}`,
      { file },
    );
  }
  return meta;
}

export function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
