import { decodeCommand, decodeResult, encodeCommand, encodeResult } from "../kv/index.js";
import type { KeyValue, ListResult } from "../kv/index.js";
import { BusyError, CompactedError, InvalidRequestError, KvTimeoutError, NoSpaceError, NotLeaderError, UnavailableError, type KvServiceError } from "./errors.js";
import { AccessDeniedError } from "./auth/errors.js";
import { PRINCIPAL_HEADER, currentCaller, encodeCallerHeader } from "./auth/caller.js";
import type { MemberHttpClient, MemberHttpResponse } from "./auth/member-http.js";
import type { MemberAddresses } from "../protocol/status.js";
import { currentRequest } from "./request-scope.js";
import { memberHost, NO_TRACE, TRACE_STAMP_HEADER, requestContextHeaders, stampFromOptionalText, stampToText, type Tracer } from "../trace/index.js";
import type { ForwardRequest, ForwardResponse, LeaderForwarder } from "./replica-service.js";

/**
 * Followers forward requests to the leader's HTTP endpoint (POST /v1/internal/forward),
 * with their member certificate and the caller they authenticated (see MemberHttpClient
 * and http/auth.ts), so that a client behind a Service or a port-forward, which cannot reach pods by
 * name, still gets a linearizable answer from any member. Bytes travel as base64;
 * write commands and results in the state machine's own binary codecs.
 */
export interface ForwardTarget {
  leaderId(): number;
  addresses(id: number): MemberAddresses;
}

export const FORWARD_PATH = "/v1/internal/forward";
/** A forwarded request carries this header so the leader never forwards it again. */
export const FORWARDED_HEADER = "x-kvraft-forwarded";

export class HttpForwarder implements LeaderForwarder {
  constructor(
    private readonly target: ForwardTarget,
    private readonly timeoutMs: number,
    /** Sends with this member's own credential (its member certificate), never a token. */
    private readonly members: MemberHttpClient,
    /** Client authentication is on: the leader then takes forwarded requests only from proven members. */
    private readonly authRequired: boolean,
    /** The member's tracer (--trace-log): each forward is a send to the leader, its answer a receive. */
    private readonly tracer: Tracer = NO_TRACE,
  ) {}

  async forward(request: ForwardRequest): Promise<ForwardResponse> {
    const leader = this.target.leaderId();
    const addresses = leader === 0 ? undefined : this.target.addresses(leader);
    const http = addresses?.http;
    if (http === undefined) throw new NotLeaderError(leader === 0 ? undefined : { leaderId: leader }, leader === 0
      ? "no leader is known right now (an election is under way): retry shortly"
      : `member ${leader} leads but its HTTP address is not known yet: retry shortly`);
    if (this.authRequired && !this.members.authenticated) {
      throw new NotLeaderError({ leaderId: leader, ...(addresses?.client === undefined ? {} : { clientAddress: addresses.client }), httpAddress: http },
        `member ${leader} is the leader, and this member cannot forward to it: with client authentication on, members forward only with member certificates (--cert-file and --peer-cert-file on every member); send the request to the leader`);
    }
    const caller = currentCaller();
    // The request's id and trace context go with it, so the leader's log lines about it carry the same id.
    const context = currentRequest();
    const leaderHost = memberHost(leader);
    const stamp = this.tracer.send({ kind: "forward", to: leaderHost, requestId: context?.requestId, details: request.op });
    let response: MemberHttpResponse;
    try {
      response = await this.members.request(http, FORWARD_PATH, {
        method: "POST",
        headers: {
          "content-type": "application/json", [FORWARDED_HEADER]: "1", ...requestContextHeaders(context),
          ...(caller === undefined ? {} : { [PRINCIPAL_HEADER]: encodeCallerHeader(caller) }),
          ...(stamp === undefined ? {} : { [TRACE_STAMP_HEADER]: stampToText(stamp) }),
        },
        body: Buffer.from(JSON.stringify(encodeForwardRequest(request))),
        timeoutMs: this.timeoutMs,
      });
    } catch (error) {
      throw new UnavailableError(`forwarding to the leader (member ${leader} at ${http}) failed: ${(error as Error).message}; retry`);
    }
    if (this.tracer.enabled) {
      const replyStamp = stampFromOptionalText(headerText(response.headers[TRACE_STAMP_HEADER]));
      this.tracer.receive({ kind: "reply", from: leaderHost, stamp: replyStamp, requestId: context?.requestId, details: `status=${response.status}` });
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(response.body.toString("utf8")) as Record<string, unknown>;
    } catch {
      throw new UnavailableError(`the leader (member ${leader} at ${http}) answered ${response.status} with a body that is not JSON; retry`);
    }
    if (response.status < 200 || response.status > 299) {
      const error = body["error"] as { code?: string; message?: string; compactRevision?: number; retryable?: boolean } | undefined;
      throw leaderError(leader, response.status, error ?? {});
    }
    return decodeForwardResponse(body);
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The leader's answer to a forwarded request, as the error it would have been here. */
function leaderError(leader: number, status: number, error: { code?: string; message?: string; compactRevision?: number; retryable?: boolean }): KvServiceError {
  const message = error.message ?? `the leader (member ${leader}) answered ${status} with no message`;
  switch (error.code) {
    case "NOT_LEADER": return new NotLeaderError(undefined, message);
    case "BUSY": return new BusyError(message);
    case "TIMEOUT": return new KvTimeoutError(message);
    case "NOSPACE": return new NoSpaceError(message, error.retryable === true);
    case "INVALID_ARGUMENT": return new InvalidRequestError(message);
    case "COMPACTED": return new CompactedError(error.compactRevision ?? 0, message);
    case "UNAUTHENTICATED":
    case "PERMISSION_DENIED": return new AccessDeniedError(error.code, `the leader (member ${leader}) refused: ${message}`);
    default: return new UnavailableError(`the leader (member ${leader}) answered ${status}: ${message}`);
  }
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");
const unb64 = (text: unknown): Uint8Array => new Uint8Array(Buffer.from(String(text), "base64"));

export function encodeForwardRequest(request: ForwardRequest): Record<string, unknown> {
  switch (request.op) {
    case "get":
      return { op: "get", keys: request.keys.map(b64) };
    case "list":
      return {
        op: "list", prefix: b64(request.prefix), limit: request.page.limit,
        ...(request.page.after === undefined ? {} : { after: b64(request.page.after) }),
        ...(request.page.revision === undefined ? {} : { revision: request.page.revision }),
      };
    case "write":
      return { op: "write", command: b64(encodeCommand({ stampMs: 0, command: request.command })) };
  }
}

export function decodeForwardRequest(body: Record<string, unknown>): ForwardRequest {
  switch (body["op"]) {
    case "get":
      return { op: "get", keys: (body["keys"] as unknown[]).map(unb64) };
    case "list":
      return {
        op: "list", prefix: unb64(body["prefix"]),
        page: {
          limit: Number(body["limit"]),
          after: body["after"] === undefined ? undefined : unb64(body["after"]),
          revision: body["revision"] === undefined ? undefined : Number(body["revision"]),
        },
      };
    case "write": {
      const command = decodeCommand(unb64(body["command"])).command;
      if (command.type === "register-session" || command.type === "close-session" || command.type === "tick") {
        throw new RangeError(`a forwarded write cannot be a ${command.type}`);
      }
      return { op: "write", command };
    }
    default:
      throw new RangeError(`unknown forwarded operation ${String(body["op"])}`);
  }
}

const kvJson = (kv: KeyValue | undefined): unknown => kv === undefined ? null : { ...kv, key: b64(kv.key), value: b64(kv.value) };
const kvFromJson = (json: unknown): KeyValue | undefined => {
  if (json === null || typeof json !== "object") return undefined;
  const o = json as Record<string, unknown>;
  return { ...(o as unknown as KeyValue), key: unb64(o["key"]), value: unb64(o["value"]) };
};

export function encodeForwardResponse(response: ForwardResponse): Record<string, unknown> {
  switch (response.op) {
    case "get":
      return { op: "get", revision: response.outcome.revision, kvs: response.outcome.kvs.map(kvJson) };
    case "list":
      return { op: "list", revision: response.result.revision, entries: response.result.entries.map(kvJson), ...(response.result.nextAfter === undefined ? {} : { nextAfter: b64(response.result.nextAfter) }) };
    case "write":
      return { op: "write", result: b64(encodeResult(response.result)) };
  }
}

function decodeForwardResponse(body: Record<string, unknown>): ForwardResponse {
  switch (body["op"]) {
    case "get":
      return { op: "get", outcome: { revision: Number(body["revision"]), kvs: (body["kvs"] as unknown[]).map(kvFromJson) } };
    case "list": {
      const result: ListResult = {
        revision: Number(body["revision"]),
        entries: (body["entries"] as unknown[]).map(kvFromJson).filter((kv): kv is KeyValue => kv !== undefined),
        ...(body["nextAfter"] === undefined ? {} : { nextAfter: unb64(body["nextAfter"]) }),
      };
      return { op: "list", result };
    }
    case "write":
      return { op: "write", result: decodeResult(unb64(body["result"])) };
    default:
      throw new UnavailableError(`the leader answered an unknown forwarded operation ${String(body["op"])}`);
  }
}
