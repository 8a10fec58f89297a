import type { Logger } from "pino";
import { DiskStorage, type FileIo, type StorageEvent } from "../storage/index.js";
import { bootstrapCluster, derivedClusterId, existingClusterId } from "./bootstrap.js";
import { adoptEmptyDataDir } from "./adopt-empty-dir.js";
import type { ServerConfig } from "./config.js";
import type { ReplicaMetrics } from "./replica-metrics.js";

/** A member's storage, opened for the cluster it belongs to. */
export interface MemberStorage {
  readonly clusterId: string;
  readonly storage: DiskStorage;
  /** An empty member joining an existing cluster: it must not vote until a leader has caught it up. */
  readonly startNonVoting: boolean;
}

/**
 * Opens the data dir for the cluster it belongs to (refusing another cluster's), founds
 * the cluster on an empty dir when this member is one of its founders, and marks an empty
 * joiner non-voting durably before anything else happens.
 */
export async function openMemberStorage(config: ServerConfig, log: Logger, metrics: ReplicaMetrics, io: FileIo | undefined): Promise<MemberStorage> {
  let known = await existingClusterId(config.dataDir);
  if (known !== undefined && config.clusterId !== undefined && known !== config.clusterId) {
    if (!await adoptEmptyDataDir(config.dataDir, config.id, known)) {
      throw new RangeError(`the data dir ${config.dataDir} belongs to cluster ${known}, not ${config.clusterId}: point --data-dir at this cluster's data or drop --cluster-id`);
    }
    log.warn({ fromClusterId: known, clusterId: config.clusterId }, `the data dir belonged to cluster ${known} but held nothing of it (no entry, no snapshot): starting it empty in cluster ${config.clusterId}`);
    known = undefined;
  }
  if (known === undefined && config.initialClusterState === "existing" && config.clusterId === undefined) {
    throw new RangeError("--initial-cluster-state existing with an empty data dir needs --cluster-id (the id of the cluster to join)");
  }
  const clusterId = known ?? config.clusterId ?? derivedClusterId(config.peers);
  const storage = await DiskStorage.open(config.dataDir, {
    memberId: config.id, clusterId, ...(io === undefined ? {} : { io }),
    onEvent: (event) => log[storageEventLevel(event)]({ event }, `storage: ${event.type}`),
    onFlush: (seconds, items) => {
      metrics.fsyncSeconds.observe(seconds);
      metrics.entriesPerFsync.observe(items);
    },
  });
  for (const event of storage.recovery.events) log.warn({ event }, `storage recovery: ${event.type}`);
  // Empty means no log, no snapshot and no term: a start that died before writing
  // anything leaves the directory initialised but still empty.
  const empty = storage.lastIndex() === 0 && storage.snapshotMeta().index === 0 && storage.hardState().term === 0;
  if (empty && config.initialClusterState === "new") {
    await bootstrapCluster(storage, [...config.peers.keys()]);
    log.info({ clusterId, voters: [...config.peers.keys()] }, `created cluster ${clusterId}`);
  }
  if (empty && config.initialClusterState === "existing" && !storage.hardState().nonVoting) {
    // Durable before anything else happens: a crash right after this start must not
    // bring the member back as a voter with an empty log.
    await storage.persist({ hardState: { ...storage.hardState(), nonVoting: true } });
  }
  if (storage.hardState().nonVoting) log.info("this member may have lost acknowledged entries: it does not vote until a leader has caught it up (or it is re-added as a learner)");
  return { clusterId, storage, startNonVoting: empty && config.initialClusterState === "existing" };
}

/**
 * How loud a storage event is in the member's log. The housekeeping a member does every
 * few seconds under writes (an old snapshot or a compacted segment deleted) is debug: at
 * warn it was a line a second under load, in which the warnings that matter drowned. A
 * repair, a fallback or a failure stays a warning; disk space coming back is info.
 */
export function storageEventLevel(event: StorageEvent): "debug" | "info" | "warn" {
  if (event.type === "snapshot-removed" || (event.type === "segment-removed" && event.reason === "compacted")) return "debug";
  return event.type === "disk-space-recovered" ? "info" : "warn";
}
