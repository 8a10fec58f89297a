import type { KvResult, WriteCommand } from "../kv/index.js";
import type { Consistency, Response } from "../protocol/index.js";
import type { ServerStatus } from "../protocol/status.js";
import { AdminApi, type MemberList, type MembershipChange } from "./admin.js";
import type { RequestContext } from "../trace/index.js";
import { callRequestOf, type CallRequestOptions } from "./call-request.js";
import { runCall, unexpected, type CallContext, type Sender } from "./call.js";
import { askCoordinator, socketFinder } from "./discovery.js";
import {
  ClientClosedError, InvalidArgumentError, KeyNotFoundError, StaleSequenceError, UnavailableError, VersionMismatchError, withRequestId,
} from "./errors.js";
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from "./options.js";
import { LeaderRouter } from "./router.js";
import { SYSTEM_RUNTIME } from "./runtime.js";
import { entryOf, toBytes, type BytesInput, type DeleteResult, type KvEntry, type ListPage, type PutResult } from "./values.js";
import { openWatch, type WatchOptions, type WatchSubscription } from "./watch.js";
import { SessionWriter } from "./writes.js";

export interface CallOptions extends CallRequestOptions {
  /** This call's deadline (default: the client's deadlineMs). */
  readonly deadlineMs?: number;
}

export interface ReadOptions extends CallOptions {
  /** Default "linearizable": sees every write acknowledged before the read started. */
  readonly consistency?: Consistency;
}

export interface PutOptions extends CallOptions {
  /** The key expires this long after the write is applied. */
  readonly ttlMs?: number;
  /** Compare-and-swap: write only if the key's version is this (0: only if absent). */
  readonly expectVersion?: number;
}

export interface DeleteOptions extends CallOptions {
  readonly expectVersion?: number;
}

export interface ListOptions extends ReadOptions {
  /** Most keys in the page (default 1000, at most the cluster's listLimitMax). */
  readonly limit?: number;
  /** Continue after this key: the previous page's nextAfter. */
  readonly after?: BytesInput;
  /**
   * The first page's revision, for every later page: all pages then show the state of
   * one moment. A listing whose pages stop being held (about a minute, or the member that
   * served the first page changed) fails with CompactedError: list again from the start.
   */
  readonly revision?: number;
}

/** Keys in one page when the caller does not say. */
const LIST_LIMIT_DEFAULT = 1000;

/**
 * A client of a KVRaft cluster over the binary protocol. Calls are pipelined on one
 * connection to the leader; each retries through failovers until its deadline. Writes
 * are exactly-once (see writes.ts). `get` of a missing key answers undefined;
 * `delete` of a missing key throws KeyNotFoundError.
 */
export class KvClient {
  private readonly options: ResolvedClientOptions;
  private readonly router: LeaderRouter;
  private readonly context: CallContext;
  private readonly writer: SessionWriter;
  private readonly admin: AdminApi;
  private readonly watches = new Set<WatchSubscription>();
  private closed = false;

  constructor(options: ClientOptions) {
    this.options = resolveClientOptions(options);
    const emit = this.options.onEvent;
    this.router = new LeaderRouter(socketFinder(this.options), emit);
    this.context = { router: this.router, runtime: SYSTEM_RUNTIME, requestTimeoutMs: this.options.requestTimeoutMs, emit, tracer: this.options.tracer };
    this.writer = new SessionWriter(this.context, this.options.writesInFlightMax);
    this.admin = new AdminApi({ httpAddress: () => this.httpAddress(), token: this.options.adminToken, tls: this.options.tls, deadlineMs: this.options.deadlineMs });
  }

  async get(key: BytesInput, options: ReadOptions = {}): Promise<KvEntry | undefined> {
    const keyBytes = toBytes(key);
    return this.read("get", options, (connection, timeoutMs, context) =>
      connection.request((requestId) => ({ kind: "get", requestId, key: keyBytes, consistency: options.consistency ?? "linearizable" }), timeoutMs, context),
    (response) => {
      if (response.kind !== "get-ok") throw unexpected("get", response);
      return response.kv === undefined ? undefined : entryOf(response.kv, response.revision);
    });
  }

  /** Several keys read at one revision; a missing key is undefined in its place. */
  async getMany(keys: readonly BytesInput[], options: ReadOptions = {}): Promise<(KvEntry | undefined)[]> {
    const keyBytes = keys.map(toBytes);
    return this.read("getMany", options, (connection, timeoutMs, context) =>
      connection.request((requestId) => ({ kind: "get-many", requestId, keys: keyBytes, consistency: options.consistency ?? "linearizable" }), timeoutMs, context),
    (response) => {
      if (response.kind !== "get-many-ok") throw unexpected("getMany", response);
      return response.kvs.map((kv) => (kv === undefined ? undefined : entryOf(kv, response.revision)));
    });
  }

  async list(prefix: BytesInput, options: ListOptions = {}): Promise<ListPage> {
    const prefixBytes = toBytes(prefix);
    const after = options.after === undefined ? undefined : toBytes(options.after);
    const limit = options.limit ?? LIST_LIMIT_DEFAULT;
    return this.read("list", options, (connection, timeoutMs, context) =>
      connection.request((requestId) => ({
        kind: "list", requestId, prefix: prefixBytes, limit, consistency: options.consistency ?? "linearizable",
        ...(after === undefined ? {} : { after }),
        ...(options.revision === undefined ? {} : { revision: options.revision }),
      }), timeoutMs, context),
    (response) => {
      if (response.kind !== "list-ok") throw unexpected("list", response);
      const entries = response.entries.map((kv) => entryOf(kv, response.revision));
      return response.nextAfter === undefined ? { revision: response.revision, entries } : { revision: response.revision, entries, nextAfter: response.nextAfter };
    });
  }

  async put(key: BytesInput, value: BytesInput, options: PutOptions = {}): Promise<PutResult> {
    const command: WriteCommand = {
      type: "put", key: toBytes(key), value: toBytes(value),
      ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
      ...(options.expectVersion === undefined ? {} : { expectVersion: options.expectVersion }),
    };
    const request = callRequestOf(options);
    const result = await this.write("put", command, options, request);
    if (!result.ok || result.kind !== "stored") throw withRequestId(this.writeFailure("put", command, result), request.requestId);
    return { revision: result.revision, version: result.version, createVersion: result.createVersion };
  }

  /** Compare-and-swap: writes `value` only if the key is at `expectVersion` (0: absent); else VersionMismatchError. */
  cas(key: BytesInput, expectVersion: number, value: BytesInput, options: Omit<PutOptions, "expectVersion"> = {}): Promise<PutResult> {
    return this.put(key, value, { ...options, expectVersion });
  }

  async delete(key: BytesInput, options: DeleteOptions = {}): Promise<DeleteResult> {
    const command: WriteCommand = { type: "delete", key: toBytes(key), ...(options.expectVersion === undefined ? {} : { expectVersion: options.expectVersion }) };
    const request = callRequestOf(options);
    const result = await this.write("delete", command, options, request);
    if (!result.ok || result.kind !== "deleted") throw withRequestId(this.writeFailure("delete", command, result), request.requestId);
    return { revision: result.revision, previousVersion: result.previousVersion };
  }

  /** Events under `prefix`, resumed across failovers without a gap or a repeat. */
  watch(prefix: BytesInput, options: WatchOptions = {}): WatchSubscription {
    if (this.closed) throw new ClientClosedError("the client is closed");
    const subscription: WatchSubscription = openWatch({
      router: this.router, emit: this.options.onEvent, deadlineMs: this.options.deadlineMs,
      startRevision: async (bytes) => (await this.list(bytes, { limit: 1 })).revision + 1,
      onEnd: () => this.watches.delete(subscription),
    }, toBytes(prefix), options);
    this.watches.add(subscription);
    return subscription;
  }

  /** The status document of the member this client is connected to (the leader, normally). */
  async status(options: CallOptions = {}): Promise<ServerStatus> {
    return this.read("status", options, (connection, timeoutMs, context) => connection.request((requestId) => ({ kind: "status", requestId }), timeoutMs, context), (response) => {
      if (response.kind !== "status-ok") throw unexpected("status", response);
      return JSON.parse(response.json) as ServerStatus;
    });
  }

  memberList(): Promise<MemberList> {
    return this.admin.memberList();
  }

  addLearner(memberId: number): Promise<MembershipChange> {
    return this.admin.addLearner(memberId);
  }

  promote(memberId: number): Promise<MembershipChange> {
    return this.admin.promote(memberId);
  }

  removeMember(memberId: number): Promise<MembershipChange> {
    return this.admin.removeMember(memberId);
  }

  transferLeadership(to?: number): Promise<{ readonly transferringTo: number }> {
    return this.admin.transferLeadership(to);
  }

  /** Ends every watch and the connection; calls under way fail with ClientClosedError. */
  async close(): Promise<void> {
    this.closed = true;
    for (const watch of [...this.watches]) watch.close();
    this.writer.close();
    this.router.close();
  }

  private read<T>(operation: string, options: CallOptions, send: Sender, accept: (response: Response) => T): Promise<T> {
    if (this.closed) return Promise.reject(new ClientClosedError("the client is closed"));
    return runCall(this.context, { operation, request: callRequestOf(options) }, options.deadlineMs ?? this.options.deadlineMs, send, accept);
  }

  private write(operation: string, command: WriteCommand, options: CallOptions, request: RequestContext): Promise<KvResult> {
    if (this.closed) return Promise.reject(new ClientClosedError("the client is closed"));
    return this.writer.write(operation, command, options.deadlineMs ?? this.options.deadlineMs, request);
  }

  private writeFailure(operation: string, command: WriteCommand, result: KvResult): Error {
    if (result.ok) return unexpected(operation, { kind: "write-ok", requestId: 0, result });
    const key = "key" in command ? command.key : new Uint8Array(0);
    switch (result.error) {
      case "version-mismatch":
        return new VersionMismatchError(result.currentVersion ?? 0, result.revision, `${operation}: ${result.message}`);
      case "not-found":
        return new KeyNotFoundError(key, result.revision, `${operation}: ${result.message}`);
      case "stale-sequence":
        return new StaleSequenceError(`${operation}: ${result.message}`);
      default:
        return new InvalidArgumentError(`${operation}: ${result.message}`, result.error.toUpperCase().replaceAll("-", "_"));
    }
  }

  /** Where admin calls go: the connected member's advertised HTTP address, else the coordinator's leader. */
  private async httpAddress(): Promise<string> {
    const status = await this.status().catch(() => undefined);
    const fromStatus = status?.addresses.http ?? status?.members.find((m) => m.id === status.leaderId)?.addresses.http;
    if (fromStatus !== undefined) return fromStatus;
    if (this.options.coordinator !== undefined) {
      const view = await askCoordinator(this.options.coordinator, this.options.connectTimeoutMs, this.options).catch(() => undefined);
      if (view?.leaderHttpAddress !== undefined) return view.leaderHttpAddress;
    }
    throw new UnavailableError("no member's HTTP address is known: the status has no addresses.http and no coordinator names one");
  }
}

/** A client for the cluster at `options.endpoints` and/or `options.coordinator`. Connects lazily, on the first call. */
export function createClient(options: ClientOptions): KvClient {
  return new KvClient(options);
}
