import { invariant } from "../../assert/invariant.js";
import type { KeyValue, KvResult } from "../../kv/index.js";
import { touchAndRead, type KvCalls } from "./commands.js";
import { ttlField, type Expiry } from "./expiry.js";
import { encodeBase64 } from "./meta-line.js";
import { failureReply } from "./outcomes.js";
import { NO_REPLY, type MetaCode, type Reply } from "./replies.js";
import type { MetaRequest } from "./requests.js";

/**
 * The meta commands (memcached 1.6) on a KvService, with the same meanings as their
 * classic counterparts in commands.ts: a cas token is the key's version, T is exptime,
 * F the client flags. What KVRaft cannot do atomically was refused by the parser.
 *
 * Quiet mode (q) hides the nominal codes only, as in memcached: mg its EN, ms its HD,
 * md its HD and NF, ma its HD and NF. Errors and other codes are always sent.
 */

/** What a reply can tell about an item; absent facts leave their flags out. */
interface ItemFacts {
  readonly version?: number;
  readonly flags?: number;
  readonly size?: number;
  /** null: never expires. */
  readonly expiresAtMs?: number | null;
}

const MS_PER_SECOND = 1000;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

export async function executeMeta(kv: KvCalls, request: MetaRequest): Promise<Reply> {
  switch (request.command) {
    case "mg":
      return metaGet(kv, request);
    case "ms":
      return metaSet(kv, request);
    case "md":
      return metaDelete(kv, request);
    case "ma":
      return metaArithmetic(kv, request);
    case "me":
      return metaDebug(kv, request);
  }
}

function meta(code: MetaCode, flags: readonly string[], value?: Uint8Array): Reply {
  return value === undefined ? { kind: "meta", code, flags } : { kind: "meta", code, flags, value };
}

/** The flags the request asked back, in its order; item flags only when the fact is known. */
function echo(kv: KvCalls, request: MetaRequest, item: ItemFacts = {}): string[] {
  const flags: string[] = [];
  for (const flag of request.echo) {
    switch (flag) {
      case "O":
        flags.push(`O${request.opaque ?? ""}`);
        break;
      case "k":
        flags.push(`k${keyText(request)}`);
        break;
      case "b":
        // memcached marks a key it returns base64-encoded.
        if (request.echo.includes("k")) flags.push("b");
        break;
      case "c":
        if (item.version !== undefined) flags.push(`c${item.version}`);
        break;
      case "f":
        if (item.flags !== undefined) flags.push(`f${item.flags}`);
        break;
      case "s":
        if (item.size !== undefined) flags.push(`s${item.size}`);
        break;
      case "t":
        if (item.expiresAtMs !== undefined) flags.push(`t${remainingSeconds(item.expiresAtMs, kv.nowMs())}`);
        break;
    }
  }
  return flags;
}

/** memcached's t: seconds left, -1 for a key that never expires. */
function remainingSeconds(expiresAtMs: number | null, nowMs: number): number {
  if (expiresAtMs === null) return -1;
  return Math.max(0, Math.ceil((expiresAtMs - nowMs) / MS_PER_SECOND));
}

function keyText(request: MetaRequest): string {
  if (request.base64Key) return encodeBase64(request.key);
  let text = "";
  for (const byte of request.key) text += String.fromCharCode(byte);
  return text;
}

function facts(item: KeyValue): ItemFacts {
  return { version: item.version, flags: item.flags, size: item.value.length, expiresAtMs: item.expiresAtMs ?? null };
}

async function metaGet(kv: KvCalls, request: MetaRequest): Promise<Reply> {
  kv.counters.add("cmd_get");
  let item: KeyValue | undefined;
  if (request.ttl === undefined) {
    item = await kv.read(request.key);
  } else {
    kv.counters.add("cmd_touch");
    item = await touchAndRead(kv, request.key, kv.expiry(request.ttl));
    kv.counters.add(item === undefined ? "touch_misses" : "touch_hits");
  }
  kv.counters.add(item === undefined ? "get_misses" : "get_hits");
  if (item === undefined) return request.quiet ? NO_REPLY : meta("EN", echo(kv, request));
  const flags = echo(kv, request, facts(item));
  return request.returnValue ? meta("VA", flags, item.value) : meta("HD", flags);
}

async function metaSet(kv: KvCalls, request: MetaRequest): Promise<Reply> {
  kv.counters.add("cmd_set");
  const { key } = request;
  const value = request.data ?? EMPTY;
  const flags = request.clientFlags ?? 0;
  const expiry = kv.expiry(request.ttl ?? 0);
  const stored = (version?: number): Reply =>
    request.quiet ? NO_REPLY : meta("HD", echo(kv, request, version === undefined ? {} : { version }));
  const code = (name: MetaCode): Reply => meta(name, echo(kv, request));
  switch (request.storeMode) {
    case "set":
      if (request.compareCas !== undefined) return metaCompareAndSet(kv, request, expiry);
      if (expiry.kind === "expired") return outcome(await kv.write({ type: "delete", key }), stored, { "not-found": stored() });
      return outcome(await kv.write({ type: "put", key, value, flags, ...ttlField(expiry) }), stored, {});
    case "add":
      // An expired add writes nothing (as `add` in commands.ts): stored if absent.
      if (expiry.kind === "expired") return (await kv.read(key)) === undefined ? stored() : code("NS");
      return outcome(await kv.write({ type: "add", key, value, flags, ...ttlField(expiry) }), stored, { exists: code("NS") });
    case "replace":
      if (expiry.kind === "expired") return outcome(await kv.write({ type: "delete", key }), stored, { "not-found": code("NS") });
      return outcome(await kv.write({ type: "replace", key, value, flags, ...ttlField(expiry) }), stored, { "not-found": code("NS") });
    case "append":
    case "prepend":
      // As memcached's append: the key keeps its flags and expiry (F and T are ignored).
      return outcome(await kv.write({ type: request.storeMode, key, value }), stored, { "not-found": code("NS") });
  }
}

/** ms with C: a put at the version (a delete for an expired T); NF when missing, EX when at another version. */
async function metaCompareAndSet(kv: KvCalls, request: MetaRequest, expiry: Expiry): Promise<Reply> {
  const { key } = request;
  const unique = request.compareCas ?? 0n;
  const code = (name: MetaCode): Reply => meta(name, echo(kv, request));
  let reply: Reply;
  if (unique < 1n || unique > BigInt(Number.MAX_SAFE_INTEGER)) {
    // No key is ever at this version (see compareAndSwap in commands.ts).
    reply = (await kv.read(key)) === undefined ? code("NF") : code("EX");
  } else {
    const expectVersion = Number(unique);
    const result =
      expiry.kind === "expired"
        ? await kv.write({ type: "delete", key, expectVersion })
        : await kv.write({ type: "put", key, value: request.data ?? EMPTY, flags: request.clientFlags ?? 0, expectVersion, ...ttlField(expiry) });
    reply = outcome(result, (version) => (request.quiet ? NO_REPLY : meta("HD", echo(kv, request, version === undefined ? {} : { version }))), {
      "version-mismatch": result.ok || (result.error === "version-mismatch" && (result.currentVersion ?? 0) === 0) ? code("NF") : code("EX"),
      "not-found": code("NF"),
    });
  }
  const name = reply.kind === "meta" ? reply.code : "HD";
  kv.counters.add(name === "NF" ? "cas_misses" : name === "EX" ? "cas_badval" : "cas_hits");
  return reply;
}

async function metaDelete(kv: KvCalls, request: MetaRequest): Promise<Reply> {
  const { key } = request;
  const code = (name: MetaCode): Reply => meta(name, echo(kv, request));
  const missing = request.quiet ? NO_REPLY : code("NF");
  let reply: Reply;
  const unique = request.compareCas;
  if (unique !== undefined && (unique < 1n || unique > BigInt(Number.MAX_SAFE_INTEGER))) {
    reply = (await kv.read(key)) === undefined ? missing : code("EX");
  } else {
    const result = await kv.write(unique === undefined ? { type: "delete", key } : { type: "delete", key, expectVersion: Number(unique) });
    const mismatch = !result.ok && result.error === "version-mismatch" && (result.currentVersion ?? 0) !== 0 ? code("EX") : missing;
    reply = outcome(result, () => (request.quiet ? NO_REPLY : code("HD")), { "not-found": missing, "version-mismatch": mismatch });
  }
  kv.counters.add(reply.kind === "meta" && reply.code === "HD" ? "delete_hits" : "delete_misses");
  return reply;
}

/**
 * ma: incr/decr by D (default 1). With N, a missing key is created holding J (default 0),
 * the delta not applied, as in memcached; the create is an `add`, so a racing creator
 * wins and this request then counts on its value. T sets the expiry of the result in a
 * second write (the store's incr keeps the key's expiry): between the two another
 * client could see the old expiry.
 */
async function metaArithmetic(kv: KvCalls, request: MetaRequest): Promise<Reply> {
  const { key, arithmetic } = request;
  const code = (name: MetaCode): Reply => meta(name, echo(kv, request));
  let result = await kv.write({ type: arithmetic, key, delta: request.delta });
  let value: bigint | undefined;
  let version: number | undefined;
  if (!result.ok && result.error === "not-found" && request.vivifyTtl !== undefined) {
    const expiry = kv.expiry(request.vivifyTtl);
    if (expiry.kind !== "expired") {
      const initial = encoder.encode(request.initial.toString());
      const created = await kv.write({ type: "add", key, value: initial, flags: 0, ...ttlField(expiry) });
      if (created.ok && created.kind === "stored") {
        value = request.initial;
        version = created.version;
      } else if (!created.ok && created.error !== "exists") {
        return failureReply(created);
      } else {
        result = await kv.write({ type: arithmetic, key, delta: request.delta });
      }
    }
  }
  if (value === undefined) {
    kv.counters.add(result.ok ? `${arithmetic}_hits` : `${arithmetic}_misses`);
    if (!result.ok) return result.error === "not-found" ? (request.quiet ? NO_REPLY : code("NF")) : failureReply(result);
    invariant(result.kind === "counter", () => `${arithmetic} answered ${result.kind}, not counter`);
    value = result.value;
    version = result.version;
  }
  if (request.ttl !== undefined) {
    const expiry = kv.expiry(request.ttl);
    const touched = await kv.write(expiry.kind === "expired" ? { type: "delete", key, expectVersion: version } : { type: "touch", key, ...ttlField(expiry) });
    if (!touched.ok && touched.error !== "not-found" && touched.error !== "version-mismatch") return failureReply(touched);
  }
  const flags = echo(kv, request, version === undefined ? {} : { version });
  if (request.returnValue) return meta("VA", flags, encoder.encode(value.toString()));
  return request.quiet ? NO_REPLY : meta("HD", flags);
}

/** me: memcached's debug line, with the fields KVRaft has (no LRU, slab class or fetch bit). */
async function metaDebug(kv: KvCalls, request: MetaRequest): Promise<Reply> {
  const item = await kv.read(request.key);
  if (item === undefined) return meta("EN", []);
  const exp = remainingSeconds(item.expiresAtMs ?? null, kv.nowMs());
  return meta("ME", [keyText(request), `exp=${exp}`, `cas=${item.version}`, `flags=${item.flags}`, `size=${item.value.length}`]);
}

/**
 * A write's reply: `success` with the new version when it applied, the reply named for
 * its failure code when there is one, else the generic failure reply.
 */
function outcome(result: KvResult, success: (version?: number) => Reply, onFailure: Partial<Record<string, Reply>>): Reply {
  if (result.ok) return success(result.kind === "stored" ? result.version : undefined);
  return onFailure[result.error] ?? failureReply(result);
}
