import express from "express";
import type { Request, Response, Router } from "express";
import type { KeyValue, KvEvent, KvResult } from "../../kv/index.js";
import type { KvService, ReadConsistency } from "../kv-service.js";
import { decodeKeyPath } from "../../codec/key-path.js";
import { callerOf } from "./auth.js";
import { requestContextOfResponse } from "./request-context.js";
import type { RequestScope } from "../request-scope.js";
import { sendError, sendServiceError } from "./errors.js";
import type { RequestObserver } from "../request-observer.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const KEY_PATH_PREFIX = "/v1/kv/";
/**
 * The one-key routes match the raw path without a named parameter: express would
 * decode a parameter as UTF-8 and answer 400 for a key byte like %FF before the handler
 * runs; keyParam decodes the path to the key's exact bytes instead.
 */
const KEY_ROUTE = /^\/v1\/kv\/.*$/;

export interface KvRoutesOptions {
  /** The leader's HTTP address when this member is not the leader (for ?redirect=true). */
  readonly leaderHttpIfFollower?: () => string | undefined;
  readonly valueBytesMax: number;
  readonly listLimitMax: number;
  readonly onRequest?: RequestObserver;
}

/**
 * /v1/kv: GET, PUT and DELETE of one key (the path is the key, UTF-8), and GET with a
 * prefix for listing. A GET answers the raw value with its version and revision in
 * headers, so `curl` shows the value; `Accept: application/json` gets JSON with the
 * value in base64.
 */
export function kvRoutes(service: KvService, options: KvRoutesOptions): Router {
  const router = express.Router();
  // Followers forward by default (a client behind a Service cannot reach pod names);
  // ?redirect=true asks for a 307 to the leader instead.
  router.use("/v1/kv", (req, res, next) => {
    const leader = req.query["redirect"] === "true" ? options.leaderHttpIfFollower?.() : undefined;
    if (leader === undefined) return next();
    // Members serve their client ports alike: the leader speaks HTTPS when this member does.
    res.redirect(307, `${req.protocol}://${leader}${req.originalUrl}`);
  });
  const timed = (op: string, handler: (req: Request, res: Response, scope: RequestScope) => Promise<void>) => async (req: Request, res: Response) => {
    const started = performance.now();
    let outcome = "ok";
    try {
      // The request's context and caller go with the service call, for a follower that forwards it to the leader.
      await handler(req, res, { request: requestContextOfResponse(res), caller: callerOf(res) });
      if (res.statusCode >= 400) outcome = String(res.statusCode);
    } catch (error) {
      outcome = "error";
      sendServiceError(res, error);
    } finally {
      options.onRequest?.(op, outcome, (performance.now() - started) / 1000);
    }
  };

  router.get("/v1/kv", timed("list", async (req, res, scope) => {
    const prefix = encoder.encode(stringParam(req, "prefix") ?? "");
    const limit = intParam(req, "limit") ?? 1000;
    if (limit < 1 || limit > options.listLimitMax) return sendError(res, 400, "INVALID_ARGUMENT", `limit must be 1..${options.listLimitMax}, got ${limit}`);
    const after = stringParam(req, "after");
    const revision = intParam(req, "revision");
    const result = await service.list(prefix, {
      limit, after: after === undefined ? undefined : encoder.encode(after), revision, consistency: consistencyParam(req), scope,
    });
    res.json({
      revision: result.revision,
      items: result.entries.map(keyValueJson),
      next: result.nextAfter === undefined ? null : decoder.decode(result.nextAfter),
    });
  }));

  // Watch as a stream of newline-delimited JSON events; the response stays open until the
  // client goes away. Resume after a reconnect from the last revision seen + 1.
  router.get("/v1/watch", async (req, res) => {
    const prefix = encoder.encode(stringParam(req, "prefix") ?? "");
    let next: number;
    try {
      next = intParam(req, "fromRevision") ?? 0;
    } catch (error) {
      sendServiceError(res, error);
      return;
    }
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    let started = false;
    try {
      while (!abort.signal.aborted) {
        const result = await service.watch(prefix, { fromRevision: next, signal: abort.signal });
        if (!result.ok) break;
        if (!started) {
          res.status(200).type("application/x-ndjson");
          res.flushHeaders();
          started = true;
        }
        for (const event of result.events) res.write(`${JSON.stringify(eventJson(event))}\n`);
        next = result.nextRevision;
      }
    } catch (error) {
      if (!started) sendServiceError(res, error);
      else res.write(`${JSON.stringify({ error: (error as Error).message })}\n`);
    }
    res.end();
  });

  router.get(KEY_ROUTE, timed("get", async (req, res, scope) => {
    const key = keyParam(req);
    const outcome = await service.get(key, { consistency: consistencyParam(req), scope });
    res.setHeader("X-Kvraft-Revision", String(outcome.revision));
    if (outcome.kv === undefined) return sendError(res, 404, "KEY_NOT_FOUND", `key "${decoder.decode(key)}" does not exist`, { revision: outcome.revision });
    const kv = outcome.kv;
    res.setHeader("X-Kvraft-Version", String(kv.version));
    res.setHeader("X-Kvraft-Create-Version", String(kv.createVersion));
    res.setHeader("X-Kvraft-Flags", String(kv.flags));
    if (req.accepts(["application/octet-stream", "application/json"]) === "application/json" && req.get("accept")?.includes("json") === true) {
      res.json({ revision: outcome.revision, ...keyValueJson(kv) });
      return;
    }
    res.type("application/octet-stream").send(Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength));
  }));

  router.put(KEY_ROUTE, express.raw({ type: () => true, limit: options.valueBytesMax }), timed("put", async (req, res, scope) => {
    const key = keyParam(req);
    const body: unknown = req.body;
    const value = body instanceof Uint8Array ? new Uint8Array(body) : new Uint8Array(0);
    const ttlMs = intParam(req, "ttl");
    const expectVersion = intParam(req, "expectVersion") ?? intParam(req, "expect_version");
    const flags = intParam(req, "flags");
    const result = await service.write({
      type: "put", key, value,
      ...(ttlMs === undefined ? {} : { ttlMs }),
      ...(expectVersion === undefined ? {} : { expectVersion }),
      ...(flags === undefined ? {} : { flags }),
    }, { scope });
    sendWriteResult(res, result);
  }));

  router.delete(KEY_ROUTE, timed("delete", async (req, res, scope) => {
    const key = keyParam(req);
    const expectVersion = intParam(req, "expectVersion") ?? intParam(req, "expect_version");
    const result = await service.write({ type: "delete", key, ...(expectVersion === undefined ? {} : { expectVersion }) }, { scope });
    sendWriteResult(res, result);
  }));

  return router;
}

function sendWriteResult(res: Response, result: KvResult): void {
  res.setHeader("X-Kvraft-Revision", String(result.revision));
  if (result.ok) {
    res.json(jsonSafe(result));
    return;
  }
  const status = result.error === "version-mismatch" || result.error === "exists" ? 409
    : result.error === "not-found" ? 404
      : result.error === "session-expired" || result.error === "stale-sequence" ? 409 : 400;
  const code = result.error === "not-found" ? "KEY_NOT_FOUND" : result.error.toUpperCase().replaceAll("-", "_");
  sendError(res, status, code, result.message, { revision: result.revision, ...(result.currentVersion === undefined ? {} : { currentVersion: result.currentVersion }) });
}

/** JSON has no bigint: counters go out as decimal strings. */
function jsonSafe(result: KvResult): Record<string, unknown> {
  return Object.fromEntries(Object.entries(result).map(([k, v]) => [k, typeof v === "bigint" ? v.toString() : v]));
}

function eventJson(event: KvEvent): Record<string, unknown> {
  switch (event.type) {
    case "put":
      return { type: "put", revision: event.revision, key: decoder.decode(event.key), value: Buffer.from(event.value).toString("base64"), version: event.version };
    case "delete":
      return { type: "delete", revision: event.revision, key: decoder.decode(event.key), expired: event.expired };
    case "flush":
      return { type: "flush", revision: event.revision };
  }
}

export function keyValueJson(kv: KeyValue): Record<string, unknown> {
  return {
    key: decoder.decode(kv.key),
    value: Buffer.from(kv.value).toString("base64"),
    version: kv.version,
    createVersion: kv.createVersion,
    flags: kv.flags,
    ...(kv.expiresAtMs === undefined ? {} : { expiresAtMs: kv.expiresAtMs }),
  };
}

/** The key's bytes from the raw path (see src/codec/key-path.ts); a RangeError answers 400. */
function keyParam(req: Request): Uint8Array {
  const key = decodeKeyPath(req.path.slice(KEY_PATH_PREFIX.length));
  if (key.length === 0) throw new RangeError("the key is empty: a key is at least one byte, as in /v1/kv/greeting");
  return key;
}

function stringParam(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === "string" ? value : undefined;
}

function intParam(req: Request, name: string): number | undefined {
  const value = stringParam(req, name);
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`query parameter ${name} must be a whole number >= 0, got "${value}"`);
  return n;
}

function consistencyParam(req: Request): ReadConsistency {
  const value = stringParam(req, "consistency");
  if (value === "follower" || value === "serializable") return value;
  return "linearizable";
}
