/**
 * Quorum-loss recovery on the survivor's data dir ("force new cluster" in etcd's terms):
 * when a majority of members is gone for good, the chosen survivor becomes a one-member
 * cluster under a NEW cluster id, holding every entry of its log.
 *
 * Its whole log, not only up to the commit index it recorded: had it won an election in
 * the old cluster, Raft would have committed its whole log too (a new leader commits its
 * earlier entries with its first entry). The recorded commit index lags what the member
 * had acknowledged (it learns the commit from the next message, and a crash may come
 * first), so cutting there would drop writes that were acknowledged to clients and that
 * this member holds (etcd's --force-new-cluster drops them). An entry of the tail that was
 * never committed becomes committed: its client got no answer or a timeout, an outcome
 * that may go either way. What is lost: entries acknowledged by members that are gone
 * and never written to this member.
 *
 * The new cluster id is the new configuration epoch: the peer port refuses a HELLO that
 * names another cluster (transport/inbound-connection.ts), and a server refuses to start
 * on a data dir of another cluster (server.ts), so a member of the old history that comes
 * back can never vote in the new one.
 *
 * The data dir is rewritten in place (in a pod it is a volume's mount point, which cannot
 * be renamed), in steps that a crash may interrupt and a restart finishes:
 *   1. build the new one-member data dir in STAGING_DIR, then write READY_FILE into it;
 *   2. move the old storage files into `before-recovery-<old cluster id>/`, then write MOVED_FILE;
 *   3. move the staged files up, then remove STAGING_DIR.
 * The old files are kept for inspection; delete them once the cluster is back.
 */
import { crc32c } from "@node-rs/crc32";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { KvStateMachine } from "../kv/index.js";
import { applyConfChange, decodeConfChange } from "../raft/conf-change.js";
import { EntryType, type HardState, type NodeId, type SnapshotMeta } from "../raft/types.js";
import { DiskStorage, isStorageFile, nodeFileIo } from "../storage/index.js";
import { existingClusterId } from "./bootstrap.js";
import { restoreFromStorage } from "./snapshot-slices.js";
import { NODE_SCHEDULER } from "./node-scheduler.js";

const STAGING_DIR = "recovery-staging";
const READY_FILE = "RECOVERY-READY";
const MOVED_FILE = "RECOVERY-MOVED";
/** Entries read from the old log per call while replaying it. */
const REPLAY_BATCH_BYTES_MAX = 4 * 1024 * 1024;
/** Bytes per snapshot chunk written into the staged data dir. */
const STAGE_CHUNK_BYTES = 256 * 1024;

/** A recovery that must not run: what is wrong and what to do instead. */
export class RecoveryRefusedError extends Error {
  override readonly name = "RecoveryRefusedError";
}

/** What a test may put in: a throw from afterStep stands for a crash right after that step. */
export interface RecoverySeams {
  readonly afterStep?: (step: "staged" | "old-moved") => void;
}

/** What the rewrite records in READY_FILE before it moves any file: a restart finishes from it. */
export interface RecoveryRecord {
  readonly memberId: NodeId;
  readonly fromClusterId: string;
  readonly toClusterId: string;
  /** The index the new cluster starts from: every entry of the survivor's log up to it is kept. */
  readonly lastIndex: number;
  readonly term: number;
  /** The commit index the survivor had recorded: entries past it were kept and are committed now. */
  readonly recordedCommitIndex: number;
  /** The voters of the old configuration, as this member last applied it. */
  readonly oldVoters: readonly NodeId[];
}

/** What the rewrite did (or found already done). */
export interface RecoveryOutcome extends RecoveryRecord {
  readonly outcome: "recovered" | "already-recovered";
  readonly keptOldFilesIn: string;
}

/**
 * Rewrites member `memberId`'s data dir as the only member of cluster `toClusterId`, or
 * finishes a rewrite a crash interrupted. A data dir already in `toClusterId` is left as
 * it is, so a pod that restarts with the same settings starts normally.
 */
export async function recoverFromMember(dataDir: string, memberId: NodeId, toClusterId: string, seams: RecoverySeams = {}): Promise<RecoveryOutcome> {
  const staged = await readReady(dataDir);
  if (staged !== undefined) return finish(dataDir, staged, seams);
  const fromClusterId = await existingClusterId(dataDir);
  if (fromClusterId === undefined) {
    throw new RecoveryRefusedError(`the data dir ${dataDir} is empty: there is nothing to recover from here; recover from a member that kept its data, or restore a backup`);
  }
  if (fromClusterId === toClusterId) {
    return { outcome: "already-recovered", memberId, fromClusterId, toClusterId, lastIndex: 0, term: 0, recordedCommitIndex: 0, oldVoters: [], keptOldFilesIn: "" };
  }
  await rm(join(dataDir, STAGING_DIR), { recursive: true, force: true });
  const survivor = await survivorState(dataDir, memberId, fromClusterId);
  await stage(join(dataDir, STAGING_DIR), memberId, toClusterId, survivor);
  const record: RecoveryRecord = {
    memberId, fromClusterId, toClusterId, lastIndex: survivor.meta.index, term: survivor.meta.term,
    recordedCommitIndex: survivor.hardState.commit, oldVoters: survivor.oldVoters,
  };
  await writeDurably(join(dataDir, STAGING_DIR), READY_FILE, JSON.stringify(record));
  seams.afterStep?.("staged");
  return finish(dataDir, record, seams);
}

interface SurvivorState {
  readonly kv: KvStateMachine;
  readonly meta: Omit<SnapshotMeta, "sizeBytes" | "checksum">;
  readonly hardState: HardState;
  readonly oldVoters: readonly NodeId[];
}

/** The state machine at the data dir's last index, replayed from its snapshot and its whole log. */
async function survivorState(dataDir: string, memberId: NodeId, clusterId: string): Promise<SurvivorState> {
  const storage = await DiskStorage.open(dataDir, { memberId, clusterId });
  try {
    const hardState = storage.hardState();
    if (hardState.nonVoting) {
      throw new RecoveryRefusedError(`member ${memberId} had lost its data and was still being caught up (non-voting): its log is not a whole history; recover from another survivor or restore a backup`);
    }
    const snapshot = storage.snapshotMeta();
    const last = Math.max(storage.lastIndex(), snapshot.index);
    const kv = snapshot.index > 0 ? await restoreFromStorage(storage, snapshot, NODE_SCHEDULER.nextTurn) : new KvStateMachine();
    let config = snapshot.config;
    for (let next = snapshot.index + 1; next <= last;) {
      for (const entry of storage.entries(next, last + 1, REPLAY_BATCH_BYTES_MAX)) {
        if (entry.type === EntryType.Normal) kv.apply(entry.index, entry.data);
        else kv.applyNoop(entry.index);
        if (entry.type === EntryType.ConfChange) config = applyConfChange(config, decodeConfChange(entry.data));
        next = entry.index + 1;
      }
    }
    if (kv.appliedIndex === 0) kv.applyNoop(1);
    const index = kv.appliedIndex;
    const term = index === snapshot.index ? snapshot.term : storage.term(index) ?? hardState.term;
    return {
      kv, hardState, oldVoters: config.voters,
      meta: { index, term, config: { voters: [memberId], learners: [] } },
    };
  } finally {
    await storage.close();
  }
}

/** Writes the one-member data dir of the new cluster into `dir`. */
async function stage(dir: string, memberId: NodeId, toClusterId: string, survivor: SurvivorState): Promise<void> {
  const data = survivor.kv.snapshot();
  const meta: SnapshotMeta = { ...survivor.meta, sizeBytes: data.length, checksum: crc32c(data) };
  const storage = await DiskStorage.open(dir, { memberId, clusterId: toClusterId });
  try {
    const incoming = await storage.beginIncoming(meta);
    for (let offset = 0; offset < data.length; offset += STAGE_CHUNK_BYTES) {
      await incoming.writeChunk(offset, data.subarray(offset, offset + STAGE_CHUNK_BYTES));
    }
    await incoming.finish();
    // The term stays: a vote this member gave in it is forgotten, which is safe because
    // nobody else of this term can reach it (another cluster id).
    const term = Math.max(survivor.hardState.term, meta.term);
    await storage.persist({ hardState: { term, vote: 0, commit: meta.index, nonVoting: false } });
  } finally {
    await storage.close();
  }
}

/** Steps 2 and 3: each may have been done, in part, by a start that crashed. */
async function finish(dataDir: string, record: RecoveryRecord, seams: RecoverySeams): Promise<RecoveryOutcome> {
  const staging = join(dataDir, STAGING_DIR);
  // The old id came from a file: only safe characters go into a file name.
  const kept = join(dataDir, `before-recovery-${record.fromClusterId.replace(/[^A-Za-z0-9._-]/g, "_")}`);
  if (!await exists(join(kept, MOVED_FILE))) {
    await mkdir(kept, { recursive: true });
    // The storage's own files only: the lock stays with whoever holds the dir, and a
    // volume's lost+found or an earlier recovery's kept files are not the old cluster's.
    for (const name of await readdir(dataDir)) {
      if (isStorageFile(name)) await rename(join(dataDir, name), join(kept, name));
    }
    await nodeFileIo.syncDirectory(dataDir);
    await writeDurably(kept, MOVED_FILE, "");
    seams.afterStep?.("old-moved");
  }
  for (const name of await readdir(staging)) {
    if (isStorageFile(name)) await rename(join(staging, name), join(dataDir, name));
  }
  await nodeFileIo.syncDirectory(dataDir);
  await rm(staging, { recursive: true, force: true });
  await nodeFileIo.syncDirectory(dataDir);
  return { outcome: "recovered", ...record, keptOldFilesIn: kept };
}

async function readReady(dataDir: string): Promise<RecoveryRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(dataDir, STAGING_DIR, READY_FILE), "utf8")) as RecoveryRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** A marker file: its content and its name are durable before the next step starts. */
async function writeDurably(dir: string, name: string, text: string): Promise<void> {
  const handle = await open(join(dir, name), "w");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await nodeFileIo.syncDirectory(dir);
}

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(() => true, (error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return false;
    throw error;
  });
}
