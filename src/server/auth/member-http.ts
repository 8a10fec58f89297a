import * as http from "node:http";
import * as https from "node:https";
import type { TlsMaterial } from "../../security/tls-material.js";

export interface MemberHttpRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  readonly timeoutMs: number;
}

export interface MemberHttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** The largest answer a member reads from another (a snapshot download through a follower included). */
export const MEMBER_HTTP_RESPONSE_BYTES_MAX = 1024 * 1024 * 1024;

/**
 * HTTP requests from this member to another member's HTTP port: a follower forwarding
 * a client request to the leader, or proxying an admin call. With TLS on the client
 * ports and a member certificate (`--peer-cert-file`), they go over HTTPS presenting
 * that certificate (usage server-and-client), which is how the leader knows a member
 * sent them; the leader's serving certificate is checked against the client-port and
 * peer CAs. Never with a token: neither the admin token nor a client's token leaves the
 * member. Without that material ("plain"), requests go over HTTP with no credential,
 * and the leader accepts them only when authentication is off (see http/auth.ts).
 */
export class MemberHttpClient {
  private agent: https.Agent | undefined;

  constructor(
    /** The member certificate (peer TLS files); undefined in plain mode. */
    private readonly memberTls: TlsMaterial | undefined,
    /** The client ports' TLS material (its CA verifies the other member's HTTPS certificate). */
    private readonly servingTls: TlsMaterial | undefined,
  ) {
    // A rotated member certificate is used for the next connections.
    memberTls?.watch(() => this.resetAgent(), () => undefined);
    servingTls?.watch(() => this.resetAgent(), () => undefined);
  }

  /** True when requests carry the member's certificate over HTTPS. */
  get authenticated(): boolean {
    return this.memberTls !== undefined && this.servingTls !== undefined;
  }

  request(address: string, path: string, request: MemberHttpRequest): Promise<MemberHttpResponse> {
    const match = /^(.+):(\d+)$/.exec(address);
    if (match === null) return Promise.reject(new Error(`the member address "${address}" is not host:port`));
    const host = (match[1] as string).replace(/^\[(.*)\]$/, "$1");
    const options: http.RequestOptions = {
      host, port: Number(match[2]), path, method: request.method,
      headers: { ...request.headers, ...(request.body === undefined ? {} : { "content-length": String(request.body.length) }) },
      timeout: request.timeoutMs,
    };
    return new Promise((resolve, reject) => {
      const onResponse = (response: http.IncomingMessage): void => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        response.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MEMBER_HTTP_RESPONSE_BYTES_MAX) {
            response.destroy(new Error(`the answer is larger than ${MEMBER_HTTP_RESPONSE_BYTES_MAX} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on("error", reject);
      };
      const outgoing = this.authenticated
        ? https.request({ ...options, agent: this.httpsAgent() }, onResponse)
        : http.request(options, onResponse);
      outgoing.on("timeout", () => outgoing.destroy(new Error(`no answer within ${request.timeoutMs} ms`)));
      outgoing.on("error", reject);
      outgoing.end(request.body === undefined ? undefined : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength));
    });
  }

  close(): void {
    this.resetAgent();
  }

  private httpsAgent(): https.Agent {
    if (this.agent !== undefined) return this.agent;
    const member = (this.memberTls as TlsMaterial).pem();
    const serving = (this.servingTls as TlsMaterial).pem();
    const ca = [serving.ca, member.ca].filter((pem): pem is string => pem !== undefined);
    this.agent = new https.Agent({
      keepAlive: true, cert: member.cert, key: member.key, minVersion: "TLSv1.2",
      ...(ca.length === 0 ? {} : { ca }),
    });
    return this.agent;
  }

  private resetAgent(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}
