import type { TlsMaterial } from "../../security/tls-material.js";
import type { ClientAuth } from "./client-auth.js";

/**
 * What a TCP client port (binary, memcached) is given to be secure: TLS material for
 * its listener and client authentication. Both optional: a port without them is plain
 * and open, as in tests of the protocol alone.
 */
export interface PortSecurity {
  readonly tls?: { readonly material: TlsMaterial; readonly onReloadError: (error: Error) => void };
  readonly auth?: ClientAuth;
}
