import type { Action, Principal } from "../../security/tokens.js";
import type { ClientRole } from "../../security/member-identity.js";
import { ON_BEHALF_OF_CHARS_MAX } from "../../protocol/index.js";

/**
 * Who sent a client request, once proven: by a token, by a client certificate, or by
 * a member that forwarded it for one of those (the member vouches for its client).
 */
export interface Caller extends Principal {
  readonly via: "token" | "certificate";
}

/** The weakest role that may do each action, for messages ("put needs read-write"). */
export const ROLE_NEEDED: { readonly [A in Action]: ClientRole } = { read: "read-only", write: "read-write", admin: "admin" };

/** How a caller is named in a refusal: "token 'alice'" or "certificate 'kvraft client admin'". */
export function describeCaller(caller: Caller): string {
  return `${caller.via} '${caller.name}'`;
}

/**
 * The caller as a member names it to the leader: `<role> <token|certificate> <name,
 * URI-encoded>`, in a forwarded request's context (protocol/context-codec.ts:
 * onBehalfOf) or a proxied admin call's header PRINCIPAL_HEADER. The leader believes it
 * only from a member proven by its certificate.
 */
export const PRINCIPAL_HEADER = "x-kvraft-principal";

export function encodeCallerText(caller: Caller): string {
  return `${caller.role} ${caller.via} ${encodeURIComponent(caller.name)}`;
}

export function decodeCallerText(text: string | undefined): Caller | undefined {
  if (text === undefined || text.length > ON_BEHALF_OF_CHARS_MAX) return undefined;
  const match = /^(read-only|read-write|admin) (token|certificate) ([^\s]+)$/.exec(text);
  if (match === null) return undefined;
  try {
    const name = decodeURIComponent(match[3] as string);
    return name === "" ? undefined : { role: match[1] as ClientRole, via: match[2] as Caller["via"], name };
  } catch {
    return undefined;
  }
}
