import type { Socket } from "node:net";
import type { Request, Response } from "../../protocol/index.js";
import type { Action } from "../../security/tokens.js";
import { decodeCallerText, type Caller } from "../auth/caller.js";
import type { ClientAuth, Refusal } from "../auth/client-auth.js";
import type { MemberVerifier } from "../auth/member-credential.js";
import type { NodeId } from "../../raft/types.js";

/**
 * Authentication on one binary-protocol connection. The HELLO proves who the client is
 * (its token, or the client certificate of the TLS connection); a HELLO that proves
 * nothing while the server requires it is answered UNAUTHENTICATED and the connection
 * closes, so no request is ever served before authentication. Each request after it
 * needs the role for its action, or is answered PERMISSION_DENIED (the connection stays).
 *
 * A follower forwarding its clients' requests connects with its member certificate
 * (recognised by `members`) and names, per request, the caller it forwards for (the
 * request context's `onBehalfOf`); the role check is made against that caller here, not
 * only on the follower. Only a proven member may name another caller.
 */
export class ConnectionAuthGate {
  private who: Caller | undefined;
  /** The member on the other end, proven by its member certificate; undefined for a client. */
  private member: NodeId | undefined;

  constructor(
    private readonly auth: ClientAuth,
    private readonly socket: Socket,
    private readonly members: MemberVerifier | undefined,
  ) {}

  /** Undefined when the HELLO may go ahead; the refusal otherwise. */
  hello(token: string | undefined): Refusal | undefined {
    this.member = this.members?.memberOf(this.socket);
    // A member speaks for the callers it names per request; it has no role of its own.
    if (this.member !== undefined) return undefined;
    const identification = this.auth.identify(this.socket, token, "the token in HELLO: the client's token option");
    if (!identification.ok) return identification.refusal;
    this.who = identification.caller;
    return undefined;
  }

  /** Who `request` runs as: the connection's caller, or the one a member forwards it for. */
  callerOf(request: Request): { readonly caller: Caller | undefined } | { readonly refusal: Refusal } {
    const named = request.context?.onBehalfOf;
    if (named === undefined) return { caller: this.who };
    if (this.member === undefined) {
      return { refusal: { code: "PERMISSION_DENIED", message: "only a member of this cluster, proven by its member certificate, may forward a request for another caller" } };
    }
    const caller = decodeCallerText(named);
    if (caller === undefined) return { refusal: { code: "UNAUTHENTICATED", message: `member ${this.member} named its caller in a form this member does not read: upgrade that member` } };
    return { caller };
  }

  /** An ERROR reply when the request's caller may not do it, else undefined. */
  deny(request: Request): Response | undefined {
    const action = actionOf(request);
    if (action === undefined) return undefined;
    const found = this.callerOf(request);
    const refusal = "refusal" in found ? found.refusal : this.auth.permit(found.caller, action, request.kind);
    return refusal === undefined ? undefined : { kind: "error", requestId: request.requestId, code: refusal.code, message: refusal.message, retryable: false };
  }

  /** The caller a request that passed `deny` runs as. */
  runsAs(request: Request): Caller | undefined {
    const found = this.callerOf(request);
    return "caller" in found ? found.caller : undefined;
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
