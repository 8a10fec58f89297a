import { BackupMetaError } from "./errors.js";

/**
 * What a backup says about itself, in its header. Written before the body, so it holds
 * only what is known when the transfer starts; sizes and checksums go in the trailer.
 */
export interface BackupMeta {
  /** The cluster the snapshot came from (a restore makes a new id; this one is history). */
  readonly clusterId: string;
  /** The state machine's revision: every write up to it is in the body, none after. */
  readonly revision: number;
  /**
   * The Raft log index and term of the last entry applied into the snapshot. The kv
   * revision is that index today; both are kept so the format does not rest on it.
   * Term 0: the member did not know it (the entry was compacted, or an older member).
   */
  readonly raftIndex: number;
  readonly raftTerm: number;
  /** The configuration the leader had when it served the snapshot. */
  readonly voters: readonly number[];
  readonly learners: readonly number[];
  /** The KVRaft version of the member that served the snapshot ("" when unknown). */
  readonly kvraftVersion: string;
  /** When the backup was taken, ms since the epoch, as the taker's clock said. */
  readonly takenAtMs: number;
  /** What the body is: "kv-snapshot" (src/kv/snapshot-codec.ts) is the only kind today. */
  readonly bodyFormat: string;
}

/** The only body kind: the kv state machine's snapshot encoding. */
export const BODY_FORMAT_KV_SNAPSHOT = "kv-snapshot";

/** Limits on the header's fields: a forged or damaged header cannot make the reader allocate. */
export const BACKUP_LIMITS = {
  /** Bytes of the encoded header fields (a cluster of members-max members fits with room). */
  headerBytesMax: 64 * 1024,
  /** Members of each kind in the configuration. */
  membersMax: 1024,
  /** UTF-8 bytes of each text field (cluster id, version, body format). */
  textBytesMax: 256,
} as const;

/** Checks what the writer is given; the reader checks the same bounds on what it reads. */
export function validateBackupMeta(meta: BackupMeta): void {
  const text = (field: string, value: string): void => {
    if (typeof value !== "string" || new TextEncoder().encode(value).length > BACKUP_LIMITS.textBytesMax) {
      throw new BackupMetaError(field, `must be a string of at most ${BACKUP_LIMITS.textBytesMax} UTF-8 bytes`);
    }
  };
  const count = (field: string, value: number, min: number): void => {
    if (!Number.isSafeInteger(value) || value < min) throw new BackupMetaError(field, `must be a whole number >= ${min}, got ${String(value)}`);
  };
  const members = (field: string, ids: readonly number[]): void => {
    if (!Array.isArray(ids) || ids.length > BACKUP_LIMITS.membersMax) throw new BackupMetaError(field, `must be a list of at most ${BACKUP_LIMITS.membersMax} member ids`);
    ids.forEach((id, i) => count(`${field}[${i}]`, id, 1));
  };
  text("clusterId", meta.clusterId);
  if (meta.clusterId === "") throw new BackupMetaError("clusterId", "must not be empty: a backup says which cluster it came from");
  text("kvraftVersion", meta.kvraftVersion);
  text("bodyFormat", meta.bodyFormat);
  count("revision", meta.revision, 0);
  count("raftIndex", meta.raftIndex, 0);
  count("raftTerm", meta.raftTerm, 0);
  count("takenAtMs", meta.takenAtMs, 0);
  members("voters", meta.voters);
  members("learners", meta.learners);
}
