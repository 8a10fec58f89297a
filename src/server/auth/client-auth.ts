import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { roleOf } from "../../security/member-identity.js";
import { roleAllows, type Action, type TokenStore } from "../../security/tokens.js";
import { ROLE_NEEDED, describeCaller, type Caller } from "./caller.js";

/** Why a request was refused: no (or an unknown) credential, or a role too weak. */
export interface Refusal {
  readonly code: "UNAUTHENTICATED" | "PERMISSION_DENIED";
  readonly message: string;
}

/** The outcome of asking who a client is: a caller, nobody (authentication is off), or a refusal. */
export type Identification =
  | { readonly ok: true; readonly caller: Caller | undefined }
  | { readonly ok: false; readonly refusal: Refusal };

/**
 * Client authentication and roles, shared by every client port (HTTP, binary,
 * memcached). It is on when the server has tokens (`--auth-token-file`, the admin token
 * included) or asks for client certificates (`--client-cert-auth`); then every data
 * request needs a caller whose role allows it. A token names its caller; a client
 * certificate verified against the trusted CA names a role in its URI SAN
 * (kvraft://role/ROLE). Off, every request is let through as before.
 */
export class ClientAuth {
  readonly required: boolean;

  constructor(
    private readonly tokens: TokenStore | undefined,
    /** --client-cert-auth: a verified client certificate is required on every connection. */
    readonly clientCertAuth: boolean,
  ) {
    this.required = tokens !== undefined || clientCertAuth;
  }

  /** The caller a token names, or undefined for a token this server does not know. */
  byToken(token: string): Caller | undefined {
    const principal = this.tokens?.lookup(token);
    return principal === undefined ? undefined : { ...principal, via: "token" };
  }

  /** The caller a verified client certificate names by its role URI, or undefined. */
  byCertificate(socket: Socket): Caller | undefined {
    if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
    const certificate = socket.getPeerCertificate();
    const role = roleOf(certificate.subjectaltname);
    if (role === undefined) return undefined;
    const commonName = certificate.subject?.CN;
    return { name: typeof commonName === "string" && commonName !== "" ? commonName : `role ${role}`, role, via: "certificate" };
  }

  /**
   * Who is asking on `socket`, with `token` if the request carried one. A token is
   * ignored by a server without tokens (it has none to check it against); otherwise a
   * wrong one is refused. `how` says how a token is given on this port, for the message.
   */
  identify(socket: Socket, token: string | undefined, how: string): Identification {
    if (this.clientCertAuth && !(socket instanceof TLSSocket && socket.authorized)) {
      return refuse("UNAUTHENTICATED", "this server requires a client certificate signed by its trusted CA (--client-cert-auth): connect with one");
    }
    if (token !== undefined && this.tokens !== undefined) {
      const caller = this.byToken(token);
      if (caller === undefined) return refuse("UNAUTHENTICATED", `the token given is not known to this server: check the token (${how}) against the server's --auth-token-file`);
      return { ok: true, caller };
    }
    const caller = this.byCertificate(socket);
    if (caller !== undefined || !this.required) return { ok: true, caller };
    return refuse("UNAUTHENTICATED", `this server requires authentication: give a token (${how}) or connect with a client certificate that names a role`);
  }

  /** Undefined when `caller` may do `action` (`what` names the request in the message). */
  permit(caller: Caller | undefined, action: Action, what: string): Refusal | undefined {
    if (caller === undefined) {
      return this.required ? { code: "UNAUTHENTICATED", message: `${what} needs authentication (role ${ROLE_NEEDED[action]} or stronger)` } : undefined;
    }
    if (roleAllows(caller.role, action)) return undefined;
    return { code: "PERMISSION_DENIED", message: `${describeCaller(caller)} has role ${caller.role}; ${what} needs ${ROLE_NEEDED[action]}` };
  }
}

function refuse(code: Refusal["code"], message: string): Identification {
  return { ok: false, refusal: { code, message } };
}
