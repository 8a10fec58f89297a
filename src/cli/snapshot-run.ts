import { crc32c } from "@node-rs/crc32";
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { KvStateMachine } from "../kv/index.js";
import type { SnapshotMeta } from "../raft/types.js";
import { DiskStorage } from "../storage/index.js";
import { describeAuthRefusal, headersOf, HttpTimeoutError, httpTarget, openHttp, TlsFailureError } from "../security/https-call.js";
import type { AccessOptions, ClusterAccess } from "./cluster-access.js";
import { CliError, describeNetworkError, discoverEndpoints, EXIT } from "./cluster-access.js";
import { report } from "./kv-commands.js";
import { progress } from "./progress.js";

/** Bytes written to a restored data dir per chunk (and per progress update). */
const RESTORE_CHUNK_BYTES = 256 * 1024;
/** How long one member may take to send the whole snapshot. */
const SNAPSHOT_DOWNLOAD_TIMEOUT_MS = 120_000;

/** Downloads the leader's state machine to `file` (written whole, then renamed into place). */
export async function saveSnapshot(file: string, flags: AccessOptions & { output: "table" | "json" }): Promise<void> {
  const access = await discoverEndpoints(flags, "admin");
  const { bytes, revision, clusterId, answeredBy } = await download(access);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, bytes);
  await rename(`${file}.tmp`, file);
  report(flags.output, { file, revision, clusterId, bytes: bytes.length, answeredBy },
    `saved revision ${revision} of cluster ${clusterId} (${bytes.length} bytes) to ${file}\n`);
}

async function download(access: ClusterAccess): Promise<{ bytes: Uint8Array; revision: number; clusterId: string; answeredBy: string }> {
  const tried: string[] = [];
  for (const endpoint of access.endpoints) {
    try {
      const deadline = Date.now() + SNAPSHOT_DOWNLOAD_TIMEOUT_MS;
      const response = await openHttp(httpTarget(endpoint, "/v1/admin/snapshot", access.tls), { method: "GET", timeoutMs: SNAPSHOT_DOWNLOAD_TIMEOUT_MS, tls: access.tls, token: access.token });
      const timer = setTimeout(() => response.destroy(new HttpTimeoutError(SNAPSHOT_DOWNLOAD_TIMEOUT_MS)), Math.max(0, deadline - Date.now()));
      response.once("close", () => clearTimeout(timer));
      const refusal = describeAuthRefusal(response.statusCode ?? 0, "", access.tokenSource);
      if (refusal !== undefined) {
        response.destroy();
        throw new CliError(EXIT.refused, `${endpoint}: ${refusal}`);
      }
      if (response.statusCode !== 200) {
        response.destroy();
        tried.push(`${endpoint}: HTTP ${response.statusCode ?? "?"}`);
        continue;
      }
      const headers = headersOf(response);
      const total = Number(headers.get("content-length") ?? 0);
      const parts: Uint8Array[] = [];
      let received = 0;
      for await (const chunk of response) {
        parts.push(chunk as Uint8Array);
        received += (chunk as Uint8Array).length;
        progress("downloading", received, total);
      }
      progress("downloading", received, total, true);
      const revision = headers.get("x-kvraft-revision");
      const clusterId = headers.get("x-kvraft-cluster-id");
      // Without them the file cannot be told apart from another cluster's: not a KVRaft answer.
      if (revision === null || clusterId === null) {
        tried.push(`${endpoint}: HTTP ${response.statusCode ?? "?"} without the X-Kvraft-Revision and X-Kvraft-Cluster-Id headers (a member too old to relay them, or not KVRaft)`);
        continue;
      }
      return { bytes: Buffer.concat(parts), revision: Number(revision), clusterId, answeredBy: endpoint };
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (error instanceof TlsFailureError) throw new CliError(EXIT.refused, error.message);
      tried.push(`${endpoint}: ${describeNetworkError(error, SNAPSHOT_DOWNLOAD_TIMEOUT_MS, access)}`);
    }
  }
  throw new CliError(EXIT.unavailable, `no member gave a snapshot; tried:\n  ${tried.join("\n  ")}`);
}

export async function restoreSnapshot(file: string, dataDir: string, id: number, output: "table" | "json" = "table"): Promise<void> {
  await requireEmptyDataDir(dataDir);
  await restoreState(await readFile(file), file, dataDir, id, output);
}

/** Restore founds a new cluster: it never writes into a directory that holds anything. */
export async function requireEmptyDataDir(dataDir: string): Promise<void> {
  // A fresh ext4 volume holds lost+found: still empty for a restore (the server ignores it too).
  const existing = (await readdir(dataDir).catch(() => [])).filter((name) => name !== "lost+found");
  if (existing.length > 0) throw new CliError(EXIT.usage, `${dataDir} is not empty: restore makes a new cluster and needs an empty directory (never a live member's)`);
}

/** What a restore made: a new cluster's first member. */
export interface RestoredState {
  readonly clusterId: string;
  readonly revision: number;
  readonly keys: number;
}

/**
 * Writes the state machine `snapshot` (read from `source`) into `dataDir` as a new
 * one-member cluster, with a random cluster id unless one is given (the operator gives
 * the resource's uid, the id its servers are started with).
 */
export async function restoreState(snapshot: Uint8Array, source: string, dataDir: string, id: number, output: "table" | "json", clusterIdGiven?: string): Promise<RestoredState> {
  let kv: KvStateMachine;
  try {
    kv = KvStateMachine.restore(snapshot);
  } catch (error) {
    throw new CliError(EXIT.usage, `${source} is not a readable KVRaft snapshot: ${(error as Error).message}`);
  }
  if (kv.appliedIndex === 0) kv.applyNoop(1);
  const data = kv.snapshot();
  const clusterId = clusterIdGiven ?? randomUUID();
  const meta: SnapshotMeta = { index: kv.appliedIndex, term: 1, config: { voters: [id], learners: [] }, sizeBytes: data.length, checksum: crc32c(data) };
  const storage = await DiskStorage.open(dataDir, { memberId: id, clusterId });
  try {
    const incoming = await storage.beginIncoming(meta);
    for (let offset = 0; offset < data.length; offset += RESTORE_CHUNK_BYTES) {
      await incoming.writeChunk(offset, data.subarray(offset, offset + RESTORE_CHUNK_BYTES));
      progress("writing", Math.min(data.length, offset + RESTORE_CHUNK_BYTES), data.length);
    }
    progress("writing", data.length, data.length, true);
    await incoming.finish();
    await storage.persist({ hardState: { term: 1, vote: 0, commit: meta.index, nonVoting: false } });
  } finally {
    await storage.close();
  }
  report(output, { dataDir, clusterId, memberId: id, revision: meta.index, keys: kv.keyCount() }, [
    `restored revision ${meta.index} (${kv.keyCount()} keys) into ${dataDir} as the new cluster ${clusterId}, member ${id}.`,
    `Start it with: kvraft server --id ${id} --data-dir ${dataDir} --peers ${id}=HOST:PORT`,
    "",
  ].join("\n"));
  return { clusterId, revision: meta.index, keys: kv.keyCount() };
}
