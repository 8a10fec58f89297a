import * as http from "node:http";
import * as https from "node:https";
import type { Express } from "express";
import type { Logger } from "pino";
import type { NodeId } from "../raft/types.js";
import { TlsMaterial } from "../security/tls-material.js";
import { TokenStore } from "../security/tokens.js";
import { ClientAuth } from "./auth/client-auth.js";
import { MemberVerifier } from "./auth/member-credential.js";
import { MemberHttpClient } from "./auth/member-http.js";
import { portServerOptions, type PortSecurity } from "./auth/port-security.js";
import type { ClientTlsOptions } from "../security/client-credentials.js";
import type { ServerConfig } from "./config.js";
import { HttpAuth } from "./http/auth.js";
import { TLS_HANDSHAKE_TIMEOUT_MS } from "./tcp-port/listener.js";

/**
 * The security of a member's client ports, made once at start: one TlsMaterial for
 * every client port (HTTP, admin, binary, memcached; `--cert-file`...), the client
 * authentication (tokens and client certificates), and the member's own credential for
 * forwarding to the leader (its peer certificate). See docs/SECURITY.md.
 */
export class ClientSecurity {
  readonly auth: ClientAuth;
  readonly http: HttpAuth;
  readonly memberHttp: MemberHttpClient;
  /** Recognises a member by its member certificate on a client port; undefined without TLS on both. */
  readonly members: MemberVerifier | undefined;
  private readonly clientTls: TlsMaterial | undefined;
  private readonly memberTls: TlsMaterial | undefined;
  /** The HTTPS ports' TLS handshake deadline: --client-handshake-timeout-ms, as on the binary and memcached ports. */
  private readonly handshakeTimeoutMs: number;

  constructor(
    config: Pick<ServerConfig, "tls" | "tokens" | "adminToken" | "clientLimits">,
    clusterId: string,
    isMember: (id: NodeId) => boolean,
    private readonly log: Logger,
  ) {
    this.handshakeTimeoutMs = config.clientLimits?.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS;
    // The admin token is a token of role admin, also when only ServerConfig.adminToken is set (in-process tests).
    const tokens = config.tokens ?? (config.adminToken === undefined ? undefined : TokenStore.single(config.adminToken, { name: "admin-token-file", role: "admin" }, "adminToken"));
    this.clientTls = config.tls.client === undefined ? undefined : TlsMaterial.load(config.tls.client);
    this.memberTls = config.tls.peer === undefined || this.clientTls === undefined ? undefined : TlsMaterial.load(config.tls.peer);
    this.auth = new ClientAuth(tokens, config.tls.client?.clientCertAuth === true);
    this.memberHttp = new MemberHttpClient(this.memberTls, this.clientTls);
    const members = this.memberTls === undefined ? undefined : new MemberVerifier(clusterId, isMember, this.memberTls);
    this.members = members;
    this.http = new HttpAuth({ auth: this.auth, members });
    if (this.clientTls === undefined) log.warn("the client ports are not encrypted (no --cert-file): tokens and data cross the network in the clear; use plain client ports only on loopback or in tests");
    if (!this.auth.required) log.warn("clients are not authenticated (no --auth-token-file, --admin-token-file or --client-cert-auth): anyone who reaches the client ports may read and write every key");
    if (this.auth.required && this.memberTls === undefined) log.warn("client authentication is on but members have no certificate for each other on the client ports (--cert-file and --peer-cert-file): followers answer NOT_LEADER instead of forwarding to the leader");
  }

  /** HTTPS for an express app when the client ports have TLS, else HTTP; not yet listening. */
  httpServer(app: Express): http.Server {
    const tls = this.clientTls;
    if (tls === undefined) return http.createServer(app);
    const server = https.createServer(this.httpsOptions(), app);
    const reload = (): void => server.setSecureContext(this.httpsOptions());
    const onError = (error: Error): void => this.log.error({ err: error }, `client TLS files changed but do not load (${error.message}): keeping the old certificate`);
    tls.watch(reload, onError);
    this.memberTls?.watch(reload, onError);
    return server as unknown as http.Server;
  }

  /** TLS and authentication for the binary and memcached ports; members are recognised by their member certificate. */
  portSecurity(): PortSecurity {
    const tls = this.clientTls;
    return {
      auth: this.auth,
      ...(this.members === undefined ? {} : { members: this.members }),
      ...(tls === undefined ? {} : {
        tls: {
          material: tls, ...(this.memberTls === undefined ? {} : { memberCa: this.memberTls }),
          onReloadError: (error: Error) => this.log.error({ err: error }, `client TLS files changed but do not load (${error.message}): keeping the old certificate`),
        },
      }),
    };
  }

  /**
   * How this member dials another's binary port to forward a request: presenting its
   * member certificate, and checking the other's serving certificate against the client
   * port and peer CAs. Read per dial, so a rotated certificate is used for the next
   * connection. Undefined in plain mode (no TLS on the client ports).
   */
  forwardingTls(): ClientTlsOptions | undefined {
    const serving = this.clientTls?.pem();
    if (serving === undefined) return undefined;
    const member = this.memberTls?.pem();
    const ca = [serving.ca, member?.ca].filter((pem): pem is string => pem !== undefined).join("\n");
    return { ...(ca === "" ? {} : { ca }), ...(member === undefined ? {} : { cert: member.cert, key: member.key }) };
  }

  /** True when a forwarded request can prove this member to the leader (member certificates on the client ports). */
  get forwardsAsMember(): boolean {
    return this.members !== undefined;
  }

  close(): void {
    this.memberHttp.close();
    this.clientTls?.close();
    this.memberTls?.close();
  }

  /**
   * Client certificates are asked for but not required at the handshake on the HTTP
   * ports: members present their member certificate there (signed by the peer CA, which
   * is trusted too), clients may present one or use a token, and --client-cert-auth is
   * enforced per request (http/auth.ts) with socket.authorized.
   */
  private httpsOptions(): https.ServerOptions {
    const options = portServerOptions({ material: this.clientTls as TlsMaterial, ...(this.memberTls === undefined ? {} : { memberCa: this.memberTls }) });
    return { ...options, requestCert: true, rejectUnauthorized: false, handshakeTimeout: this.handshakeTimeoutMs };
  }
}
