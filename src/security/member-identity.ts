import type { NodeId } from "../raft/types.js";

/**
 * Who a certificate speaks for, written as URIs in its subject alternative names:
 * `kvraft://member/<id>?cluster=<cluster id>` for a member of a cluster (its peer-port
 * identity, also used when members forward to each other), `kvraft://role/<role>` for a
 * client certificate. A URI SAN is what SPIFFE uses for workload identity: it cannot be
 * confused with a host name, and a certificate authority signs it like any other name.
 */
export interface MemberIdentity {
  readonly clusterId: string;
  readonly memberId: NodeId;
}

export const CLIENT_ROLES = ["read-only", "read-write", "admin"] as const;
export type ClientRole = (typeof CLIENT_ROLES)[number];

export function memberUri(identity: MemberIdentity): string {
  return `kvraft://member/${identity.memberId}?cluster=${encodeURIComponent(identity.clusterId)}`;
}

export function roleUri(role: ClientRole): string {
  return `kvraft://role/${role}`;
}

/** The URIs of Node's `subjectaltname` text ("DNS:a, URI:kvraft://..., IP Address:..."). */
export function sanUris(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined) return [];
  const uris: string[] = [];
  for (const part of subjectAltName.split(", ")) {
    // Node quotes an entry that holds a comma or quote as a JSON string.
    const match = /^URI:(.*)$/.exec(part);
    if (match === null) continue;
    const value = match[1] as string;
    uris.push(value.startsWith("\"") ? parseQuoted(value) : value);
  }
  return uris;
}

/** The member a certificate names, or undefined if it names none (or more than one). */
export function memberIdentityOf(subjectAltName: string | undefined): MemberIdentity | undefined {
  const found = sanUris(subjectAltName).map(parseMemberUri).filter((identity): identity is MemberIdentity => identity !== undefined);
  return found.length === 1 ? found[0] : undefined;
}

/** The client role a certificate carries, or undefined. */
export function roleOf(subjectAltName: string | undefined): ClientRole | undefined {
  const roles = sanUris(subjectAltName)
    .map((uri) => /^kvraft:\/\/role\/([a-z-]+)$/.exec(uri)?.[1])
    .filter((role): role is ClientRole => (CLIENT_ROLES as readonly string[]).includes(role ?? ""));
  return roles.length === 1 ? roles[0] : undefined;
}

export function parseMemberUri(uri: string): MemberIdentity | undefined {
  const match = /^kvraft:\/\/member\/([1-9]\d{0,15})\?cluster=([^&#]+)$/.exec(uri);
  if (match === null) return undefined;
  const memberId = Number(match[1]);
  if (!Number.isSafeInteger(memberId)) return undefined;
  try {
    return { memberId, clusterId: decodeURIComponent(match[2] as string) };
  } catch {
    return undefined;
  }
}

function parseQuoted(text: string): string {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "string" ? value : "";
  } catch {
    return "";
  }
}
