import { crc32c } from "@node-rs/crc32";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { KvStateMachine } from "../kv/index.js";
import type { NodeId, SnapshotMeta } from "../raft/types.js";
import type { RaftStorage } from "../storage/index.js";

/** The data dir's identity file (written by the storage layer). */
const META_FILE = "kvraft-meta.json";

/** The cluster id a data dir already belongs to, or undefined for an empty dir. */
export async function existingClusterId(dataDir: string): Promise<string | undefined> {
  try {
    const meta = JSON.parse(await readFile(join(dataDir, META_FILE), "utf8")) as { clusterId?: unknown };
    return typeof meta.clusterId === "string" ? meta.clusterId : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Founding members must agree on the cluster id without talking first, so without
 * --cluster-id it is derived from the founding configuration (ids and peer addresses),
 * as etcd derives its cluster id from its initial members. Two clusters founded on the
 * same addresses would share an id: give --cluster-id (the operator passes the
 * resource's uid; `kvraft local` a random one) when that can happen.
 */
export function derivedClusterId(peers: ReadonlyMap<NodeId, { host: string; port: number }>): string {
  const spec = [...peers].sort(([a], [b]) => a - b).map(([id, p]) => `${id}=${p.host}:${p.port}`).join(",");
  const hex = createHash("sha256").update(`kvraft-cluster:${spec}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * A new cluster starts from a snapshot at index 1, term 1, holding the first
 * configuration and an empty state machine. Every founding member writes the same one,
 * so their logs agree; a member that joins later receives the leader's snapshot.
 */
export async function bootstrapCluster(storage: RaftStorage, voters: readonly NodeId[]): Promise<void> {
  const kv = new KvStateMachine();
  kv.applyNoop(1);
  const data = kv.snapshot();
  const meta: SnapshotMeta = { index: 1, term: 1, config: { voters: [...voters].sort((a, b) => a - b), learners: [] }, sizeBytes: data.length, checksum: crc32c(data) };
  const incoming = await storage.beginIncoming(meta);
  await incoming.writeChunk(0, data);
  await incoming.finish();
  await storage.persist({ hardState: { term: 1, vote: 0, commit: 1, nonVoting: false } });
}
