import type { TlsOptions } from "node:tls";
import type { TlsMaterial } from "../../security/tls-material.js";
import type { ClientAuth } from "./client-auth.js";
import type { MemberVerifier } from "./member-credential.js";

/** TLS on a client port: its own material, and the member certificates' CA when members may call it. */
export interface PortTls {
  readonly material: TlsMaterial;
  /**
   * The peer CA (`--peer-trusted-ca-file`), trusted beside the client CA so that a
   * follower forwarding to this member proves itself with its member certificate.
   */
  readonly memberCa?: TlsMaterial;
  readonly onReloadError: (error: Error) => void;
}

/**
 * What a TCP client port (binary, memcached) is given to be secure: TLS material for
 * its listener, client authentication, and the verifier that recognises a member (a
 * follower forwarding a client's request). All optional: a port without them is plain
 * and open, as in tests of the protocol alone.
 */
export interface PortSecurity {
  readonly tls?: PortTls;
  readonly auth?: ClientAuth;
  readonly members?: MemberVerifier;
}

/** The port's server options, its CA list widened by the member CA when there is one. */
export function portServerOptions(tls: Pick<PortTls, "material" | "memberCa">): TlsOptions {
  const options = tls.material.serverOptions();
  const ca = [tls.material.pem().ca, tls.memberCa?.pem().ca].filter((pem): pem is string => pem !== undefined);
  return { ...options, ...(ca.length === 0 ? {} : { ca }) };
}

/** Gives `server` new options whenever either material's files change. */
export function keepPortServerCurrent(server: { setSecureContext(options: TlsOptions): void }, tls: PortTls): void {
  const reload = (): void => server.setSecureContext(portServerOptions(tls));
  tls.material.watch(reload, tls.onReloadError);
  tls.memberCa?.watch(reload, tls.onReloadError);
}
