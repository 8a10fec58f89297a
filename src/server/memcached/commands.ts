import { invariant } from "../../assert/invariant.js";
import type { KeyValue, KvResult, WriteCommand } from "../../kv/index.js";
import type { KvService, ReadOptions } from "../kv-service.js";
import { NO_SCOPE, type RequestScope } from "../request-scope.js";
import { expiryFromExptime, ttlField, NEVER, type Expiry } from "./expiry.js";
import { ReplyError, failureReply, keyReply, serviceErrorReply, storageReply } from "./outcomes.js";
import { NO_REPLY, REPLIES, line, type Reply, type StatLine, type ValueItem } from "./replies.js";
import type { CounterRequest, GetAndTouchRequest, Request, RetrievalRequest, StorageRequest } from "./requests.js";
import type { CommandCounters } from "./stats.js";
import { executeMeta } from "./meta-commands.js";
import type { RequestObserver } from "../request-observer.js";

/**
 * Carries out one memcached request on a KvService and says what to answer. Writes
 * go through the log; reads are linearizable (a `get` sees every write acknowledged
 * before it, on any node). A key's version is its cas unique.
 *
 * memcached's "already expired" (a negative exptime, or an absolute time in the past)
 * cannot be written as such: the store has no invisible keys, and a tiny ttl would
 * leave the value readable for that long. So each command does what the expired write
 * would leave behind: `set` deletes the key, `replace` and `touch` delete it if present,
 * `cas` deletes it at the given version, and `add` writes nothing (answering from a
 * linearizable read whether the key exists). Replies are memcached's.
 */
export interface CommandContext {
  readonly service: KvService;
  /** Passed to every service call. */
  readonly requestTimeoutMs: number;
  /** The text of `VERSION <version>`. */
  readonly version: string;
  readonly counters: CommandCounters;
  /** STAT lines of `stats` (group "general") and `stats settings`. */
  statLines(group: "general" | "settings"): StatLine[];
  /** A failure below this layer that is not a KvServiceError: a bug to report, with the command's request id. */
  onInternalError(error: unknown, requestId?: string): void;
  /** Told of each command served: its name, "ok" or "error", and its seconds. */
  readonly onRequest?: RequestObserver;
}

/** gat re-reads when a write lands between its touch and its read; this many tries, then SERVER_ERROR. */
const GET_AND_TOUCH_ATTEMPTS_MAX = 3;

/**
 * Never rejects: every failure becomes a reply (suppressed by noreply where the request has it).
 * `scope` holds the command's id for log lines (the text protocol cannot carry one in) and
 * the connection's caller, both passed with the service calls for a follower that forwards them.
 */
export async function executeRequest(context: CommandContext, request: Request, scope: RequestScope = NO_SCOPE): Promise<Reply> {
  let reply: Reply;
  const started = performance.now();
  let failed = false;
  const requestId = scope.request?.requestId;
  try {
    reply = await dispatch(context, request, scope);
  } catch (error) {
    failed = true;
    reply = serviceErrorReply(error, (internal) => context.onInternalError(internal, requestId), requestId);
  }
  context.onRequest?.(commandNameOf(request), failed || isErrorReply(reply) ? "error" : "ok", (performance.now() - started) / 1000);
  return "noreply" in request && request.noreply ? NO_REPLY : reply;
}

/** The command's name as a user typed it (set, get, mg, ...), or the request's kind for the rest. */
export function commandNameOf(request: Request): string {
  return "command" in request ? request.command : request.kind;
}

function isErrorReply(reply: Reply): boolean {
  return reply.kind === "line" && /^(SERVER_ERROR|CLIENT_ERROR|ERROR)\b/.test(reply.text);
}

async function dispatch(context: CommandContext, request: Request, scope: RequestScope): Promise<Reply> {
  const kv = new KvCalls(context, scope);
  switch (request.kind) {
    case "storage":
      context.counters.add("cmd_set");
      return store(kv, request);
    case "retrieval":
      return retrieve(kv, request);
    case "get-and-touch":
      return getAndTouch(kv, request);
    case "delete": {
      const reply = keyReply(await kv.write({ type: "delete", key: request.key }), REPLIES.deleted);
      context.counters.add(reply === REPLIES.deleted ? "delete_hits" : "delete_misses");
      return reply;
    }
    case "counter":
      return count(kv, request);
    case "touch":
      return touch(kv, request.key, kv.expiry(request.exptime));
    case "flush-all":
      return flushAll(kv, request.delay);
    case "version":
      return line(`VERSION ${context.version}`);
    case "verbosity":
      return REPLIES.ok;
    case "stats":
      if (request.group === "reset") {
        context.counters.reset();
        return REPLIES.reset;
      }
      return { kind: "stats", stats: request.group === "empty" ? [] : context.statLines(request.group) };
    case "quit":
      // The connection closes on quit before it gets here; nothing to say.
      return NO_REPLY;
    case "meta":
      return executeMeta(kv, request);
    case "meta-noop":
      return { kind: "meta", code: "MN", flags: [] };
  }
}

/** The service calls of one request, with the context's options and the request's scope. */
export class KvCalls {
  private readonly readOptions: ReadOptions;

  constructor(readonly context: CommandContext, private readonly scope: RequestScope) {
    this.readOptions = { consistency: "linearizable", timeoutMs: context.requestTimeoutMs, scope };
  }

  write(command: WriteCommand): Promise<KvResult> {
    return this.context.service.write(command, { timeoutMs: this.context.requestTimeoutMs, scope: this.scope });
  }

  async read(key: Uint8Array): Promise<KeyValue | undefined> {
    return (await this.context.service.get(key, this.readOptions)).kv;
  }

  async readMany(keys: readonly Uint8Array[]): Promise<(KeyValue | undefined)[]> {
    return (await this.context.service.getMany(keys, this.readOptions)).kvs;
  }

  nowMs(): number {
    return this.context.service.nowMs();
  }

  expiry(exptime: number): Expiry {
    return expiryFromExptime(exptime, this.context.service.nowMs());
  }

  get counters(): CommandCounters {
    return this.context.counters;
  }
}

async function store(kv: KvCalls, request: StorageRequest): Promise<Reply> {
  const { key, data: value, flags } = request;
  // append and prepend keep the key's flags and expiry: memcached ignores the line's.
  const expiry = request.command === "append" || request.command === "prepend" ? NEVER : kv.expiry(request.exptime);
  switch (request.command) {
    case "set":
      if (expiry.kind === "expired") return deleteAnswering(kv, key, REPLIES.stored, REPLIES.stored);
      return storageReply(await kv.write({ type: "put", key, value, flags, ...ttlField(expiry) }), REPLIES.stored);
    case "add":
      if (expiry.kind === "expired") return (await kv.read(key)) === undefined ? REPLIES.stored : REPLIES.notStored;
      return storageReply(await kv.write({ type: "add", key, value, flags, ...ttlField(expiry) }), REPLIES.notStored);
    case "replace":
      if (expiry.kind === "expired") return deleteAnswering(kv, key, REPLIES.stored, REPLIES.notStored);
      return storageReply(await kv.write({ type: "replace", key, value, flags, ...ttlField(expiry) }), REPLIES.notStored);
    case "append":
    case "prepend":
      return storageReply(await kv.write({ type: request.command, key, value }), REPLIES.notStored);
    case "cas":
      return compareAndSwap(kv, request, expiry);
  }
}

/** cas: the unique is the version the key must be at. */
async function compareAndSwap(kv: KvCalls, request: StorageRequest, expiry: Expiry): Promise<Reply> {
  const { key, data: value, flags } = request;
  const unique = request.casUnique ?? 0n;
  let reply: Reply;
  if (unique < 1n || unique > BigInt(Number.MAX_SAFE_INTEGER)) {
    // No key is ever at this version (versions are log indexes, from 1), and a put
    // expecting version 0 would mean "only if absent": answer from a read instead.
    reply = (await kv.read(key)) === undefined ? REPLIES.notFound : REPLIES.exists;
  } else {
    const expectVersion = Number(unique);
    const result =
      expiry.kind === "expired"
        ? await kv.write({ type: "delete", key, expectVersion })
        : await kv.write({ type: "put", key, value, flags, expectVersion, ...ttlField(expiry) });
    reply = storageReply(result, REPLIES.notFound);
  }
  kv.counters.add(reply === REPLIES.stored ? "cas_hits" : reply === REPLIES.notFound ? "cas_misses" : "cas_badval");
  return reply;
}

async function deleteAnswering(kv: KvCalls, key: Uint8Array, deleted: Reply, missing: Reply): Promise<Reply> {
  const result = await kv.write({ type: "delete", key });
  return result.ok ? deleted : result.error === "not-found" ? missing : failureReply(result);
}

async function retrieve(kv: KvCalls, request: RetrievalRequest): Promise<Reply> {
  const found = await kv.readMany(request.keys);
  const items: ValueItem[] = [];
  for (const item of found) {
    if (item !== undefined) items.push(valueItem(item, request.command === "gets"));
  }
  kv.counters.add("cmd_get", request.keys.length);
  kv.counters.add("get_hits", items.length);
  kv.counters.add("get_misses", request.keys.length - items.length);
  return { kind: "values", items };
}

function valueItem(kv: KeyValue, withCas: boolean): ValueItem {
  const item = { key: kv.key, flags: kv.flags, value: kv.value };
  return withCas ? { ...item, casUnique: kv.version } : item;
}

async function getAndTouch(kv: KvCalls, request: GetAndTouchRequest): Promise<Reply> {
  const expiry = kv.expiry(request.exptime);
  const found = await Promise.all(request.keys.map((key) => touchAndRead(kv, key, expiry)));
  const items = found.filter((item) => item !== undefined).map((item) => valueItem(item, request.command === "gats"));
  kv.counters.add("cmd_touch", request.keys.length);
  kv.counters.add("touch_hits", items.length);
  kv.counters.add("touch_misses", request.keys.length - items.length);
  return { kind: "values", items };
}

/**
 * The value a gat returns, as of its touch. The touch does not change the version, so
 * a read at the touched version returns what the touch saw; a read at another version
 * means a write landed in between, and the pair is tried again. For an expired exptime
 * the order is reversed: read, then delete at the version read.
 */
export async function touchAndRead(kv: KvCalls, key: Uint8Array, expiry: Expiry): Promise<KeyValue | undefined> {
  for (let attempt = 0; attempt < GET_AND_TOUCH_ATTEMPTS_MAX; attempt++) {
    if (expiry.kind === "expired") {
      const read = await kv.read(key);
      if (read === undefined) return undefined;
      const result = await kv.write({ type: "delete", key, expectVersion: read.version });
      if (result.ok) return read;
      if (result.error !== "version-mismatch") throw new ReplyError(failureReply(result));
    } else {
      const result = await kv.write({ type: "touch", key, ...ttlField(expiry) });
      if (!result.ok) {
        if (result.error === "not-found") return undefined;
        throw new ReplyError(failureReply(result));
      }
      invariant(result.kind === "touched", () => `touch answered ${result.kind}, not touched`);
      const read = await kv.read(key);
      if (read !== undefined && read.version === result.version) return read;
    }
  }
  throw new ReplyError(line(`SERVER_ERROR the key kept changing during gat (${GET_AND_TOUCH_ATTEMPTS_MAX} tries): retry`));
}

async function count(kv: KvCalls, request: CounterRequest): Promise<Reply> {
  const result = await kv.write({ type: request.command, key: request.key, delta: request.delta });
  kv.counters.add(result.ok ? `${request.command}_hits` : `${request.command}_misses`);
  if (!result.ok) return result.error === "not-found" ? REPLIES.notFound : failureReply(result);
  invariant(result.kind === "counter", () => `${request.command} answered ${result.kind}, not counter`);
  return line(result.value.toString());
}

async function touch(kv: KvCalls, key: Uint8Array, expiry: Expiry): Promise<Reply> {
  kv.counters.add("cmd_touch");
  const reply =
    expiry.kind === "expired"
      ? await deleteAnswering(kv, key, REPLIES.touched, REPLIES.notFound)
      : keyReply(await kv.write({ type: "touch", key, ...ttlField(expiry) }), REPLIES.touched);
  kv.counters.add(reply === REPLIES.touched ? "touch_hits" : "touch_misses");
  return reply;
}

/**
 * flush_all: now, or (delay > 0, with exptime's meaning) at a time written into the log,
 * so every replica flushes at the same point, whichever server took the command.
 */
async function flushAll(kv: KvCalls, delay: number): Promise<Reply> {
  kv.counters.add("cmd_flush");
  const expiry = kv.expiry(delay);
  const result = await kv.write(expiry.kind === "ttl" ? { type: "flush-all", ttlMs: expiry.ttlMs } : { type: "flush-all" });
  return result.ok ? REPLIES.ok : failureReply(result);
}
