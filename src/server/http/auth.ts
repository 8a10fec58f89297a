import type { NextFunction, Request, RequestHandler, Response } from "express";
import { bearerToken, type Action } from "../../security/tokens.js";
import { PRINCIPAL_HEADER, decodeCallerText, type Caller } from "../auth/caller.js";
import type { ClientAuth, Refusal } from "../auth/client-auth.js";
import { isLoopback } from "../auth/loopback.js";
import type { MemberVerifier } from "../auth/member-credential.js";
import { sendError } from "./errors.js";

export interface HttpAuthOptions {
  readonly auth: ClientAuth;
  /** Recognises members by their certificate; undefined without TLS on both the client ports and the peer port. */
  readonly members: MemberVerifier | undefined;
}

const HOW = "'Authorization: Bearer <token>'";

/**
 * Who may do what on the HTTP ports. A client proves itself with a bearer token or a
 * verified client certificate naming a role; a member (proven by its member
 * certificate) speaks for the client whose admin call it proxies, named in the
 * x-kvraft-principal header, which is believed from a member only. The caller found is
 * kept in `res.locals.caller` for the routes that forward (data requests go to the
 * leader's binary port: forwarding.ts).
 *
 * Left open on purpose: /healthz, /readyz (kubelet probes carry no credential),
 * /metrics (Prometheus scrapes; it holds counts, never keys or values) and /v1/status
 * (the operator, `kvraft status` and the coordinator read it; it holds no secret: ids,
 * terms, indexes and addresses).
 */
export class HttpAuth {
  constructor(private readonly options: HttpAuthOptions) {}

  get required(): boolean {
    return this.options.auth.required;
  }

  /** Data routes: reads need read-only, writes read-write. */
  data(action: (req: Request) => Action, what: (req: Request) => string): RequestHandler {
    return (req, res, next) => this.check(req, res, next, action(req), what(req));
  }

  /**
   * /v1/admin: the admin role. With authentication off, loopback callers and members
   * only: the admin API removes members and hands out snapshots of every key.
   */
  admin(): RequestHandler {
    return (req, res, next) => {
      if (this.options.auth.required) return this.check(req, res, next, "admin", `${req.method} ${req.baseUrl}${req.path}`);
      if (isLoopback(req.socket.remoteAddress) || this.options.members?.memberOf(req.socket) !== undefined) return next();
      sendError(res, 403, "PERMISSION_DENIED", "the admin API has no token configured, so it answers loopback only: set --admin-token-file (or --auth-token-file with an admin token) on the server");
    };
  }

  private check(req: Request, res: Response, next: NextFunction, action: Action, what: string): void {
    const member = this.options.members?.memberOf(req.socket);
    let caller: Caller | undefined;
    if (member !== undefined && req.get(PRINCIPAL_HEADER) !== undefined) {
      caller = decodeCallerText(req.get(PRINCIPAL_HEADER));
      if (caller === undefined) return refuse(res, { code: "UNAUTHENTICATED", message: `member ${member} sent a malformed ${PRINCIPAL_HEADER}` });
    } else {
      const identification = this.options.auth.identify(req.socket, bearerToken(req.get("authorization")), HOW);
      if (!identification.ok) return refuse(res, identification.refusal);
      caller = identification.caller;
    }
    const refusal = this.options.auth.permit(caller, action, what);
    if (refusal !== undefined) return refuse(res, refusal);
    res.locals["caller"] = caller;
    next();
  }
}

/** The caller the auth middleware found for this request (undefined with authentication off). */
export function callerOf(res: Response): Caller | undefined {
  return res.locals["caller"] as Caller | undefined;
}

/** 401 (with the Bearer challenge) when nothing was proven, 403 when the role is too weak. */
export function refuse(res: Response, refusal: Refusal): void {
  if (refusal.code === "UNAUTHENTICATED") {
    res.setHeader("WWW-Authenticate", "Bearer");
    return sendError(res, 401, refusal.code, refusal.message);
  }
  sendError(res, 403, refusal.code, refusal.message);
}
