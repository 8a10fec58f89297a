import type { ServerConfig } from "./config.js";
import { TlsMaterial } from "../security/tls-material.js";
import type { CoordReporterCredentials } from "./coord-reporter.js";

export interface ReporterCredentials {
  readonly credentials: CoordReporterCredentials;
  /** Stops watching the certificate files. */
  close(): void;
}

/**
 * What a member proves itself with to the coordinator: its member certificate (the
 * peer port's, `--peer-cert-file`, whose URI names member and cluster) over an https://
 * `--coord`, trusting the cluster CA (`--peer-trusted-ca-file`); and/or the token of
 * `--coord-token-file`. The certificate is re-read when its files change, as the peer
 * port's is, so a rotation needs no restart.
 */
export function reporterCredentials(config: Pick<ServerConfig, "tls" | "coordinatorToken" | "coordinator">, onReloadError: (error: Error) => void): ReporterCredentials {
  const token = config.coordinatorToken === undefined ? {} : { token: config.coordinatorToken };
  const peer = config.tls.peer;
  if (peer === undefined || config.coordinator?.startsWith("https:") !== true) return { credentials: token, close: () => undefined };
  const material = TlsMaterial.load(peer);
  material.watch(() => undefined, onReloadError);
  return {
    credentials: {
      ...token,
      tls: () => {
        const { cert, key, ca } = material.pem();
        return { cert, key, ca };
      },
    },
    close: () => material.close(),
  };
}
