import type { ConnectionOptions } from "node:tls";

/**
 * A client's credentials: TLS settings and the bearer token's shape, shared by the client
 * library and the CLI (which must not load the library: see test/cli/lazy-verbs.test.ts).
 *
 * TLS settings of a client, for the binary port (tls.connect) and the HTTP API (https):
 * the CA that signs the servers' certificates, and optionally this client's own
 * certificate (for servers started with --client-cert-auth). PEM text or bytes.
 */
export interface ClientTlsOptions {
  /** The CA to trust instead of the system's (a cluster's own ca.crt). */
  readonly ca?: string | Buffer;
  /** This client's certificate and key (both or neither). */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** The name the server's certificate must carry; default: the host dialled. */
  readonly servername?: string;
  /** false accepts any certificate: for debugging only, it gives up what TLS is for. Default true. */
  readonly rejectUnauthorized?: boolean;
  /**
   * Where `ca` came from, named in errors ("--cacert .kvraft/ca.crt"); default "the CA in
   * the tls.ca option".
   */
  readonly caSource?: string;
}

/**
 * Longest token a client sends; the same bound as the binary protocol's
 * CLIENT_TOKEN_BYTES_MAX (a test keeps them equal), kept here so that the CLI checks a
 * token without loading the protocol layer.
 */
export const CLIENT_TOKEN_CHARS_MAX = 4096;

/** A token is one printable word: it travels in an HTTP header and in HELLO. */
export function validateToken(token: string, where: string): void {
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new RangeError(`${where} must be printable ASCII without spaces or line breaks (a token file holds the token alone, a trailing newline at most)`);
  }
  if (token.length > CLIENT_TOKEN_CHARS_MAX) throw new RangeError(`${where} is longer than ${CLIENT_TOKEN_CHARS_MAX} characters`);
}

/** TLS 1.2 is the oldest the servers accept (src/security/tls-material.ts). */
const TLS_VERSION_MIN = "TLSv1.2";

/** Checks the pairs that only make sense together; a RangeError says which is missing. */
export function validateTlsOptions(tls: ClientTlsOptions, where: string): void {
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new RangeError(`${where}: tls.cert and tls.key go together (a client certificate needs its key): give both or neither`);
  }
}

/** Options for tls.connect / https.request to `host`. */
export function tlsConnectOptions(tls: ClientTlsOptions, host: string): ConnectionOptions {
  const servername = tls.servername ?? (isIpAddress(host) ? undefined : host);
  return {
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    // SNI takes host names only; an IP address is checked against the certificate's IP SANs.
    ...(servername === undefined ? {} : { servername }),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    minVersion: TLS_VERSION_MIN,
  };
}

/** OpenSSL's verification codes for a chain the trusted CA did not sign. */
const UNTRUSTED_CHAIN = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_SIGNATURE_FAILURE",
]);

/**
 * What a failed TLS connection means, in words that say what to check, or undefined
 * when the error is not about TLS. `tls` undefined: the client spoke plain TCP or HTTP.
 */
export function describeTlsFailure(error: unknown, tls: ClientTlsOptions | undefined): string | undefined {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  // "the CA in --cacert ca.crt", "the CA in the tls.ca option", or the system's CAs.
  const trusted = tls?.ca === undefined ? "the system's CAs" : `the CA in ${tls.caSource ?? "the tls.ca option"}`;
  if (code !== undefined && UNTRUSTED_CHAIN.has(code)) {
    return `the server's certificate is not signed by ${trusted}: ${message} (${code}); give the cluster's CA (for kvraft local: --cacert .kvraft/ca.crt)`;
  }
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") return `the server's certificate is not valid now: ${message} (${code}); renew it (kvraft local: restart it) or check the clock`;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return `the server's certificate is not for this address: ${message}; connect by a name or IP in its SANs, or set tls.servername`;
  if (tls === undefined) return undefined;
  if (isPlainTextPort(error)) {
    return `the server does not speak TLS on this port: ${message}; use http:// (or no TLS options) for it, or check the port`;
  }
  if (/certificate required|alert number 116|handshake failure|alert bad certificate/i.test(message)) {
    return `the server refused this client's certificate: ${message}; it wants a client certificate signed by its CA (--cert and --key)`;
  }
  return undefined;
}

/**
 * Whether the server's certificate failed verification (not signed by the trusted CA,
 * expired, or for another name): a setting to fix, which no retry will change.
 */
export function isCertificateRejected(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && (UNTRUSTED_CHAIN.has(code) || code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID" || code === "ERR_TLS_CERT_ALTNAME_INVALID");
}

/**
 * Whether a TLS connection reached a server that speaks plain text on that port: another
 * setting to fix (the URL's scheme, the port), which no retry will change. OpenSSL reads
 * a plain-text server's bytes as a bad record.
 */
export function isPlainTextPort(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return errorCode(error) === "EPROTO" || /wrong version number|packet length too long|http request/i.test(message);
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") return code;
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return cause === undefined || cause === error ? undefined : errorCode(cause);
}

function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}
