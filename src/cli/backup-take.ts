import { crc32c } from "@node-rs/crc32";
import type { IncomingMessage } from "node:http";
import { access as fileAccess, mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { ServerStatus } from "../protocol/status.js";
import { type BackupMeta, BODY_FORMAT_KV_SNAPSHOT, encodeBackup, hex32 } from "../backup/index.js";
import { describeAuthRefusal, headersOf, HttpTimeoutError, httpTarget, openHttp, TlsFailureError } from "../security/https-call.js";
import { verifyFile } from "./backup-files.js";
import type { AccessOptions, ClusterAccess } from "./cluster-access.js";
import { CliError, describeNetworkError, discoverEndpoints, EXIT, json, request } from "./cluster-access.js";
import { report } from "./kv-commands.js";
import { progress } from "./progress.js";
import { writeTerminationMessage } from "./termination-message.js";

export interface TakeFlags extends AccessOptions {
  to: string;
  /** How long to keep trying (waiting for a leader, retrying a broken transfer), in ms. */
  wait: number;
  /** How long a transfer may go without a byte before it counts as broken, in ms. */
  idleTimeout: number;
  terminationMessagePath?: string;
  output: "table" | "json";
}

/** What a taken backup is, as printed and as written to the termination message. */
export interface TakeResult {
  readonly file: string;
  readonly fileBytes: number;
  readonly clusterId: string;
  readonly revision: number;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly answeredBy: string;
  readonly durationMs: number;
}

/** Pauses between rounds over the members while there is no leader: short first, then capped. */
const RETRY_PAUSE_MS_MIN = 250;
const RETRY_PAUSE_MS_MAX = 2000;

/**
 * `kvraft backup take`: the leader's snapshot streamed into FILE.partial inside a backup
 * file (src/backup/), read back and verified, then renamed to FILE. A transfer that
 * breaks (the leader dies, the network drops) is retried from the start on whichever
 * member answers, until --wait runs out; FILE never names anything but a whole,
 * verified backup.
 */
export async function takeBackup(flags: TakeFlags): Promise<void> {
  const startedMs = Date.now();
  try {
    await refuseExisting(flags.to);
    const access = await discoverEndpoints(flags, "admin");
    const result = await takeWithRetries(access, flags, startedMs);
    await writeTerminationMessage(flags.terminationMessagePath, { phase: "Completed", ...result, message: `backup of revision ${result.revision} written to ${result.file}` });
    report(flags.output, result, `backed up revision ${result.revision} of cluster ${result.clusterId} (${result.fileBytes} bytes, verified) to ${result.file} in ${result.durationMs} ms\n`);
  } catch (error) {
    await writeTerminationMessage(flags.terminationMessagePath, { phase: "Failed", file: flags.to, durationMs: Date.now() - startedMs, message: (error as Error).message });
    throw error;
  }
}

async function refuseExisting(file: string): Promise<void> {
  const exists = await fileAccess(file).then(() => true, () => false);
  if (exists) throw new CliError(EXIT.usage, `${file} exists: a backup is never overwritten; give a new name (or remove the old one first)`);
}

type Attempt = { readonly done: TakeResult } | { readonly retry: string; readonly leaderHint?: string };

async function takeWithRetries(access: ClusterAccess, flags: TakeFlags, startedMs: number): Promise<TakeResult> {
  const deadline = startedMs + flags.wait;
  let endpoints = [...access.endpoints];
  const causes = new Map<string, string>();
  let lastSaid = "";
  for (let round = 0; ; round++) {
    endpoints = await leaderFirst(access, endpoints, flags.timeout ?? 5000);
    for (const endpoint of [...endpoints]) {
      const attempt = await attemptFrom(access, endpoint, flags, startedMs);
      if ("done" in attempt) return attempt.done;
      causes.set(endpoint, attempt.retry);
      if (attempt.leaderHint !== undefined && !endpoints.includes(attempt.leaderHint)) endpoints.unshift(attempt.leaderHint);
      if (Date.now() >= deadline) break;
    }
    const why = [...causes].map(([e, cause]) => `${e}: ${cause}`).join("\n  ");
    if (Date.now() >= deadline) {
      throw new CliError(EXIT.unavailable, `no backup taken within --wait ${flags.wait} ms (${flags.to} not written); tried:\n  ${why}`);
    }
    // Said whenever the reason changes, on stderr, so an operator (or a Job's log) sees why nothing happens.
    if (why !== lastSaid) process.stderr.write(`kvraft: waiting for a leader to serve the snapshot (until --wait ${flags.wait} ms runs out):\n  ${why}\n`);
    lastSaid = why;
    await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_PAUSE_MS_MIN * (round + 1), RETRY_PAUSE_MS_MAX, Math.max(0, deadline - Date.now()))));
  }
}

/**
 * The endpoints with the leader's first, when one of them is the address the leader
 * advertises (its admin port's, else its HTTP port's): a follower would relay the request
 * but buffer the whole answer, within its proxy's timeout. Only the given endpoints are
 * used, never an address learned here; without an answer the order stays.
 */
async function leaderFirst(access: ClusterAccess, endpoints: readonly string[], timeoutMs: number): Promise<string[]> {
  try {
    const status = json<ServerStatus>(await request({ ...access, endpoints }, "GET", "/v1/status", undefined, timeoutMs));
    const leader = status.members.find((m) => m.id === status.leaderId)?.addresses;
    const bare = (address: string): string => address.replace(/^https?:\/\//i, "").replace(/\/+$/, "");
    const wanted = [leader?.admin, leader?.http].filter((a): a is string => a !== undefined).map(bare);
    const first = endpoints.find((e) => wanted.includes(bare(e)));
    return first === undefined ? [...endpoints] : [first, ...endpoints.filter((e) => e !== first)];
  } catch {
    return [...endpoints];
  }
}

/** One try at one member: a finished backup, or why not and whether to wait. */
async function attemptFrom(access: ClusterAccess, endpoint: string, flags: TakeFlags, startedMs: number): Promise<Attempt> {
  const timeoutMs = flags.timeout ?? 5000;
  let response: IncomingMessage;
  try {
    response = await openHttp(httpTarget(endpoint, "/v1/admin/snapshot", access.tls), { method: "GET", timeoutMs, tls: access.tls, token: access.token });
  } catch (error) {
    if (error instanceof TlsFailureError) throw new CliError(EXIT.refused, error.message);
    return { retry: describeNetworkError(error, timeoutMs, access) };
  }
  const status = response.statusCode ?? 0;
  if (status !== 200) return refusedAttempt(response, status, endpoint, access);
  const headers = headersOf(response);
  const meta = metaOf(headers, Date.now());
  if (meta === undefined) {
    response.destroy();
    return { retry: "HTTP 200 without the X-Kvraft-Revision and X-Kvraft-Cluster-Id headers (a member too old to relay them, or not KVRaft)" };
  }
  const partial = `${flags.to}.partial`;
  const transferred = { bytes: 0 };
  try {
    await mkdir(dirname(flags.to), { recursive: true });
    await writeStream(partial, encodeBackup(meta, checkedBody(response, headers, flags.idleTimeout, transferred), crc32c));
    const verified = await verifyFile(partial);
    await rename(partial, flags.to);
    await syncDirectory(dirname(flags.to));
    return { done: { file: flags.to, fileBytes: verified.fileBytes, clusterId: meta.clusterId, revision: meta.revision, raftIndex: meta.raftIndex, raftTerm: meta.raftTerm, answeredBy: endpoint, durationMs: Date.now() - startedMs } };
  } catch (error) {
    response.destroy();
    await rm(partial, { force: true });
    if (error instanceof CliError && error.exitCode !== EXIT.unavailable) throw error;
    const cause = `the transfer broke after ${transferred.bytes} bytes: ${error instanceof TransferError ? error.message : describeNetworkError(error, flags.idleTimeout, access)}; starting again`;
    // Said at once: a retry that then succeeds would otherwise hide that the first try failed.
    process.stderr.write(`kvraft: ${endpoint}: ${cause}\n`);
    return { retry: cause };
  }
}

/** A non-200 answer: a refused token ends the verb, a member without a leader is waited for. */
async function refusedAttempt(response: IncomingMessage, status: number, endpoint: string, access: ClusterAccess): Promise<Attempt> {
  const parts: Buffer[] = [];
  for await (const chunk of response) parts.push(chunk as Buffer);
  let error: { code?: string; message?: string; leader?: { httpAddress?: string } } = {};
  try {
    error = (JSON.parse(Buffer.concat(parts).toString("utf8")) as { error?: typeof error }).error ?? {};
  } catch {
    // Not a KVRaft error body: reported by status alone.
  }
  const refusal = describeAuthRefusal(status, error.message ?? "", access.tokenSource);
  if (refusal !== undefined) throw new CliError(EXIT.refused, `${endpoint}: ${refusal}`);
  const hint = error.leader?.httpAddress;
  return { retry: `HTTP ${status}${error.code === undefined ? "" : ` ${error.code}`}: ${error.message ?? "(no KVRaft error body)"}`, ...(hint === undefined ? {} : { leaderHint: hint }) };
}

/** A transfer that arrived but is not what the member said it sent. */
class TransferError extends Error {}

/**
 * The response body, slice by slice, checked against the member's own account of it:
 * as many bytes as Content-Length when it says, and the CRC32C of the
 * X-Kvraft-Snapshot-Crc32c trailer (the leader streams the snapshot as it encodes it, so
 * the checksum comes last; a follower relaying the answer sends none, and then the
 * chunked encoding's end is the only proof of a whole body). A transfer quiet for
 * `idleTimeoutMs` is broken off.
 */
async function* checkedBody(response: IncomingMessage, headers: Headers, idleTimeoutMs: number, transferred: { bytes: number }): AsyncGenerator<Uint8Array> {
  const total = Number(headers.get("content-length") ?? -1);
  response.setTimeout(idleTimeoutMs, () => response.destroy(new HttpTimeoutError(idleTimeoutMs)));
  let received = 0;
  let crc = 0;
  for await (const chunk of response) {
    const slice = chunk as Uint8Array;
    received += slice.length;
    transferred.bytes = received;
    crc = crc32c(slice, crc);
    progress("backing up", received, total);
    yield slice;
  }
  progress("backing up", received, total, true);
  if (total >= 0 && received !== total) throw new TransferError(`the member sent ${received} of the ${total} bytes it announced`);
  const sentCrc = response.trailers["x-kvraft-snapshot-crc32c"] ?? headers.get("x-kvraft-snapshot-crc32c") ?? undefined;
  if (sentCrc !== undefined && Number(sentCrc) !== crc) throw new TransferError(`the snapshot arrived with CRC32C ${hex32(crc)}, the member sent ${hex32(Number(sentCrc))}`);
}

/** The header's metadata from the answer's headers; undefined without the two that say what the snapshot is. */
function metaOf(headers: Headers, takenAtMs: number): BackupMeta | undefined {
  const revision = headers.get("x-kvraft-revision");
  const clusterId = headers.get("x-kvraft-cluster-id");
  if (revision === null || clusterId === null || !/^\d+$/.test(revision)) return undefined;
  const ids = (name: string): number[] => (headers.get(name) ?? "").split(",").filter((s) => /^\d+$/.test(s)).map(Number);
  const term = headers.get("x-kvraft-term") ?? "0";
  return {
    clusterId, revision: Number(revision), raftIndex: Number(revision), raftTerm: /^\d+$/.test(term) ? Number(term) : 0,
    voters: ids("x-kvraft-voters"), learners: ids("x-kvraft-learners"), kvraftVersion: (headers.get("x-kvraft-version") ?? "").slice(0, 64),
    takenAtMs, bodyFormat: BODY_FORMAT_KV_SNAPSHOT,
  };
}

/** Writes the pieces in order, each awaited (the disk's pace bounds what is in memory), then syncs. */
async function writeStream(file: string, pieces: AsyncIterable<Uint8Array>): Promise<void> {
  const handle = await open(file, "w");
  try {
    for await (const piece of pieces) await handle.write(piece);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the rename durable: a crash after it must not bring back the old directory entry. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
