import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { TLSSocket } from "node:tls";
import { memberIdentityOf } from "../security/member-identity.js";
import { bearerToken } from "../security/tokens.js";
import type { Heartbeat } from "./heartbeat.js";

/**
 * How the coordinator knows a report comes from the member it names. Without this a
 * single forged heartbeat (role leader, term 999999) made it name the forger as leader
 * and ignore the real members (issue 15).
 *
 * - A member certificate (the coordinator serves HTTPS with `--trusted-ca-file`): the
 *   certificate's identity URI must name the reported member id and cluster id, so a
 *   member can speak only for itself.
 * - A bearer token (`--auth-token-file`), shared by the members of a deployment: it
 *   proves membership, not which member, so whoever holds it may speak for any member.
 *
 * With neither configured every report is taken (a laptop, loopback only): the
 * coordinator warns at start.
 */
export interface MemberAuthSettings {
  /** SHA-256 of the token members present; undefined: no token accepted. */
  readonly tokenDigest?: Buffer;
  /** Member certificates signed by the coordinator's trusted CA are accepted. */
  readonly certificates: boolean;
}

export type ReportAuthentication =
  | { readonly ok: true; readonly by: "certificate" | "token" | "unauthenticated" }
  | { readonly ok: false; readonly reason: string };

export function memberAuthSettings(token: string | undefined, certificates: boolean): MemberAuthSettings {
  return { certificates, ...(token === undefined ? {} : { tokenDigest: digestOf(token) }) };
}

/** True when some credential is required (a report without one is answered 401). */
export function authRequired(settings: MemberAuthSettings): boolean {
  return settings.tokenDigest !== undefined || settings.certificates;
}

/** Decides whether `req` may report `heartbeat`. Never throws. */
export function authenticateReport(settings: MemberAuthSettings, req: IncomingMessage, heartbeat: Heartbeat): ReportAuthentication {
  if (!authRequired(settings)) return { ok: true, by: "unauthenticated" };
  const { memberId } = heartbeat.status;
  const { clusterId } = heartbeat;
  const reasons: string[] = [];
  if (settings.certificates) {
    const certificate = certificateIdentity(req);
    if (certificate.kind === "member") {
      const { identity } = certificate;
      if (identity.memberId === memberId && identity.clusterId === clusterId) return { ok: true, by: "certificate" };
      reasons.push(`the client certificate is member ${identity.memberId} of cluster ${identity.clusterId}, but the report is of member ${memberId} of cluster ${clusterId}: a member reports only for itself`);
    } else {
      reasons.push(certificate.reason);
    }
  }
  if (settings.tokenDigest !== undefined) {
    const token = bearerToken(req.headers.authorization);
    if (token !== undefined && timingSafeEqual(digestOf(token), settings.tokenDigest)) return { ok: true, by: "token" };
    reasons.push(token === undefined ? "no 'Authorization: Bearer' token (the server's --coord-token-file)" : "the bearer token is not the coordinator's --auth-token-file token");
  }
  return { ok: false, reason: `report of member ${memberId} refused: ${reasons.join("; ")}` };
}

type CertificateIdentity =
  | { readonly kind: "member"; readonly identity: { readonly memberId: number; readonly clusterId: string } }
  | { readonly kind: "none"; readonly reason: string };

function certificateIdentity(req: IncomingMessage): CertificateIdentity {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket)) return { kind: "none", reason: "no member certificate (the request did not come over TLS)" };
  const peer = socket.getPeerCertificate();
  if (peer === null || Object.keys(peer).length === 0) return { kind: "none", reason: "no member certificate was presented (the server's --peer-cert-file)" };
  if (!socket.authorized) return { kind: "none", reason: `the client certificate is not signed by the coordinator's --trusted-ca-file (${String(socket.authorizationError)})` };
  const identity = memberIdentityOf(peer.subjectaltname);
  if (identity === undefined) return { kind: "none", reason: "the client certificate names no member (no kvraft://member/ID?cluster=C URI)" };
  return { kind: "member", identity };
}

function digestOf(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}
