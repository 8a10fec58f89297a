import type { Socket } from "node:net";
import type { Action } from "../../security/tokens.js";
import type { Caller } from "../auth/caller.js";
import type { ClientAuth } from "../auth/client-auth.js";
import { isLoopback } from "../auth/loopback.js";
import { REPLIES, line, type Reply } from "./replies.js";
import { isWriteRequest, type Request } from "./requests.js";

/**
 * What `flush_all` takes: "admin" lets a caller with the admin role empty the store
 * (and, with authentication off, a client on loopback only: anyone who can reach the
 * port must not be able to wipe every key, those written over HTTP included);
 * "disabled" refuses it always.
 */
export type FlushAllPolicy = "admin" | "disabled";

export interface MemcachedSecurity {
  readonly auth: ClientAuth;
  readonly flushAll: FlushAllPolicy;
}

/** The longest value of the authentication `set`: "<name> <token>". */
const AUTH_VALUE_BYTES_MAX = 8192;

const UNAUTHENTICATED = line("CLIENT_ERROR unauthenticated");
const AUTH_FAILED = line("CLIENT_ERROR authentication failure");

/**
 * Authentication on one memcached connection, in the form memcached 1.6 uses for its
 * text protocol when started with `-Y <authfile>`: until the connection authenticates,
 * every command is answered `CLIENT_ERROR unauthenticated`, except a `set` whose data
 * is `<name> <token>` (memcached's "username password"; the key is ignored) or just
 * `<token>`, answered STORED when the token is known (and belongs to that name) and
 * `CLIENT_ERROR authentication failure` otherwise. A TLS client certificate that names
 * a role authenticates the connection at once. After that each command needs its role:
 * reads read-only, writes read-write, `flush_all` and `stats reset` admin.
 */
export class MemcachedAuthGate {
  private caller: Caller | undefined;
  private authenticated: boolean;

  constructor(
    private readonly security: MemcachedSecurity,
    private readonly socket: Socket,
  ) {
    const { auth } = security;
    const identification = auth.identify(socket, undefined, "a `set` of any key with the value \"<name> <token>\"");
    this.caller = identification.ok ? identification.caller : undefined;
    this.authenticated = !auth.required || this.caller !== undefined;
  }

  /** Answers `request` through `execute`, with the connection's caller, if the connection may; else the refusal. */
  execute(request: Request, execute: (request: Request, caller: Caller | undefined) => Promise<Reply>): Promise<Reply> {
    if (!this.authenticated) {
      if (request.kind === "storage" && request.command === "set") return Promise.resolve(this.authenticate(request.data));
      // quit closes before it gets here; nothing else is answered before authentication.
      return Promise.resolve(UNAUTHENTICATED);
    }
    const refusal = this.refusal(request);
    if (refusal !== undefined) return Promise.resolve(refusal);
    return execute(request, this.caller);
  }

  private authenticate(data: Uint8Array): Reply {
    if (data.length > AUTH_VALUE_BYTES_MAX) return AUTH_FAILED;
    const fields = Buffer.from(data).toString("utf8").trim().split(/\s+/);
    if (fields.length < 1 || fields.length > 2) return AUTH_FAILED;
    const token = fields[fields.length - 1] as string;
    const name = fields.length === 2 ? fields[0] : undefined;
    const caller = this.security.auth.byToken(token);
    if (caller === undefined || (name !== undefined && name !== caller.name)) return AUTH_FAILED;
    this.caller = caller;
    this.authenticated = true;
    return REPLIES.stored;
  }

  private refusal(request: Request): Reply | undefined {
    if (request.kind === "flush-all") {
      if (this.security.flushAll === "disabled") return line("CLIENT_ERROR flush_all is disabled on this server (--memcached-flush-all disabled)");
      if (!this.security.auth.required) {
        return isLoopback(this.socket.remoteAddress) ? undefined
          : line("CLIENT_ERROR flush_all needs the admin role, and this server authenticates nobody: it is allowed from loopback only (configure --auth-token-file to allow it for admin tokens)");
      }
    }
    const action = actionOf(request);
    if (action === undefined) return undefined;
    const refusal = this.security.auth.permit(this.caller, action, commandName(request));
    return refusal === undefined ? undefined : line(`CLIENT_ERROR ${refusal.code === "UNAUTHENTICATED" ? "unauthenticated" : "forbidden"}: ${refusal.message}`);
  }
}

/** The role a command needs; undefined for those that touch no data (version, verbosity, mn, quit). */
function actionOf(request: Request): Action | undefined {
  switch (request.kind) {
    case "flush-all":
      return "admin";
    case "stats":
      return request.group === "reset" ? "admin" : "read";
    case "version":
    case "verbosity":
    case "quit":
    case "meta-noop":
      return undefined;
    default:
      return isWriteRequest(request) ? "write" : "read";
  }
}

function commandName(request: Request): string {
  switch (request.kind) {
    case "storage":
    case "retrieval":
    case "get-and-touch":
    case "counter":
    case "meta":
      return request.command;
    case "flush-all":
      return "flush_all";
    default:
      return request.kind;
  }
}
