import { request } from "node:https";
import type { PeerCertificate } from "node:tls";
import { memberIdentityOf } from "../../security/member-identity.js";

/** An admin answer larger than this is refused: /v1/status of 7 members is a few KiB. */
export const ADMIN_RESPONSE_BYTES_MAX = 1024 * 1024;

export interface AdminTls {
  /** The cluster's CA bundle (its ca.crt): the only CAs trusted for members. */
  readonly caPem: string;
  /** The member's certificate must name a member of this cluster (the CR's uid). */
  readonly clusterId: string;
}

/**
 * Instead of the usual host-name check: members are reached by pod IP, a Service or a
 * test's address, not always a name in their certificate; what matters is that the
 * certificate, signed by the cluster's CA, names a member of this cluster (its
 * kvraft://member/ID?cluster=C URI).
 */
export function memberOfCluster(clusterId: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (host, cert) => {
    const identity = memberIdentityOf(cert.subjectaltname);
    if (identity === undefined) return new Error(`the certificate of ${host} names no KVRaft member (no single kvraft://member/ID?cluster=C URI): it is not a member's`);
    if (identity.clusterId !== clusterId) {
      return new Error(`the certificate of ${host} is member ${identity.memberId}'s of cluster ${identity.clusterId}, not of ${clusterId}: the address reaches another cluster`);
    }
    return undefined;
  };
}

/**
 * One admin API request over HTTPS, trusting only the cluster's CA: the fetch of
 * client/admin.ts (Node's fetch takes no CA of its own without undici), answering a
 * Response so the caller reads it the same way.
 */
export function httpsAdminFetch(url: string, method: string, body: unknown, options: { readonly token?: string | undefined; readonly deadlineMs: number; readonly tls: AdminTls }): Promise<Response> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), "utf8");
  return new Promise<Response>((resolve, reject) => {
    const req = request(url, {
      method,
      ca: options.tls.caPem,
      checkServerIdentity: memberOfCluster(options.tls.clusterId),
      headers: {
        ...(payload === undefined ? {} : { "content-type": "application/json", "content-length": String(payload.length) }),
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      },
      signal: AbortSignal.timeout(options.deadlineMs),
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > ADMIN_RESPONSE_BYTES_MAX) {
          req.destroy(new Error(`the answer is larger than ${ADMIN_RESPONSE_BYTES_MAX} bytes: not an admin API's`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => {
        const status = res.statusCode ?? 500;
        // A Response with one of these statuses may have no body.
        resolve(new Response([101, 204, 205, 304].includes(status) ? null : Buffer.concat(chunks), { status }));
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}
