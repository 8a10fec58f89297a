import type { Socket } from "node:net";
import type { Request, Response } from "../../protocol/index.js";
import type { Action } from "../../security/tokens.js";
import type { Caller } from "../auth/caller.js";
import type { ClientAuth, Refusal } from "../auth/client-auth.js";

/**
 * Authentication on one binary-protocol connection. The HELLO proves who the client is
 * (its token, or the client certificate of the TLS connection); a HELLO that proves
 * nothing while the server requires it is answered UNAUTHENTICATED and the connection
 * closes, so no request is ever served before authentication. Each request after it
 * needs the role for its action, or is answered PERMISSION_DENIED (the connection stays).
 */
export class ConnectionAuthGate {
  private who: Caller | undefined;

  constructor(
    private readonly auth: ClientAuth,
    private readonly socket: Socket,
  ) {}

  get caller(): Caller | undefined {
    return this.who;
  }

  /** Undefined when the HELLO may go ahead; the refusal otherwise. */
  hello(token: string | undefined): Refusal | undefined {
    const identification = this.auth.identify(this.socket, token, "the token in HELLO: the client's token option");
    if (!identification.ok) return identification.refusal;
    this.who = identification.caller;
    return undefined;
  }

  /** An ERROR reply when the caller's role does not allow `request`, else undefined. */
  deny(request: Request): Response | undefined {
    const action = actionOf(request);
    if (action === undefined) return undefined;
    const refusal = this.auth.permit(this.who, action, request.kind);
    return refusal === undefined ? undefined : { kind: "error", requestId: request.requestId, code: refusal.code, message: refusal.message, retryable: false };
  }
}

/** What a request does, for its role; undefined for the connection's own requests. */
export function actionOf(request: Request): Action | undefined {
  switch (request.kind) {
    case "hello":
    case "cancel":
      return undefined;
    case "write":
    case "register-session":
      return "write";
    case "get":
    case "get-many":
    case "list":
    case "watch":
    case "status":
      return "read";
  }
}
