import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
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
import type { PortSecurity } from "./auth/port-security.js";
import type { ServerConfig } from "./config.js";
import { HttpAuth } from "./http/auth.js";
import { TLS_HANDSHAKE_TIMEOUT_MS } from "./tcp-port/listener.js";

/** How often the host names of --peers are looked up again (plain mode: a pod that restarts gets a new address). */
const MEMBER_HOSTS_REFRESH_MS = 10_000;

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
  private readonly clientTls: TlsMaterial | undefined;
  private readonly memberTls: TlsMaterial | undefined;
  private memberHosts = new Set<string>();
  private readonly hostsTimer: NodeJS.Timeout | undefined;
  /** The HTTPS ports' TLS handshake deadline: --client-handshake-timeout-ms, as on the binary and memcached ports. */
  private readonly handshakeTimeoutMs: number;

  constructor(
    config: Pick<ServerConfig, "tls" | "tokens" | "adminToken" | "peers" | "clientLimits">,
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
    this.http = new HttpAuth({ auth: this.auth, members, memberHosts: () => this.memberHosts });
    if (members === undefined) {
      const peerHosts = [...config.peers.values()].map((endpoint) => endpoint.host);
      // Addresses given as IPs count at once; names once looked up.
      this.memberHosts = new Set(peerHosts.filter((host) => isIP(host) !== 0));
      const refresh = (): void => void resolveHosts(peerHosts).then((hosts) => { this.memberHosts = hosts; });
      refresh();
      this.hostsTimer = setInterval(refresh, MEMBER_HOSTS_REFRESH_MS);
      this.hostsTimer.unref();
    }
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

  /** TLS and authentication for the binary and memcached ports. */
  portSecurity(): PortSecurity {
    const tls = this.clientTls;
    return {
      auth: this.auth,
      ...(tls === undefined ? {} : {
        tls: { material: tls, onReloadError: (error: Error) => this.log.error({ err: error }, `client TLS files changed but do not load (${error.message}): keeping the old certificate`) },
      }),
    };
  }

  close(): void {
    if (this.hostsTimer !== undefined) clearInterval(this.hostsTimer);
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
    const options = (this.clientTls as TlsMaterial).serverOptions();
    const ca = [this.clientTls?.pem().ca, this.memberTls?.pem().ca].filter((pem): pem is string => pem !== undefined);
    return { ...options, ...(ca.length === 0 ? {} : { ca }), requestCert: true, rejectUnauthorized: false, handshakeTimeout: this.handshakeTimeoutMs };
  }
}

async function resolveHosts(hosts: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const host of hosts) {
    try {
      for (const { address } of await lookup(host, { all: true })) found.add(address);
    } catch {
      // A member whose name does not resolve now is tried again at the next refresh.
    }
  }
  return found;
}
