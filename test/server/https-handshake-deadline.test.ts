import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_LIMITS_DEFAULTS } from "../../src/server/client-limits.js";
import { SecureCluster } from "../support/secure-cluster.js";
import { waitFor } from "../support/wait.js";

/**
 * The HTTPS ports close a connection whose TLS handshake has not finished by
 * --client-handshake-timeout-ms, as the binary and memcached ports do (they used a fixed
 * 10 s whatever the flag said).
 */
describe("HTTPS: the TLS handshake deadline follows --client-handshake-timeout-ms", () => {
  const handshakeTimeoutMs = 300;
  let cluster: SecureCluster;
  beforeAll(async () => {
    expect(CLIENT_LIMITS_DEFAULTS.handshakeTimeoutMs).toBeGreaterThan(10 * handshakeTimeoutMs);
    cluster = await SecureCluster.started(1, { tls: true, clientLimits: { ...CLIENT_LIMITS_DEFAULTS, handshakeTimeoutMs } });
  }, 30_000);
  afterAll(async () => { await cluster?.stop(); });

  it("closes a TCP connection that never starts TLS on the HTTP port", async () => {
    const socket = net.connect({ host: "127.0.0.1", port: cluster.ports.get(1)?.http ?? 0 });
    let closed = false;
    socket.on("error", () => undefined);
    socket.on("close", () => { closed = true; });
    try {
      // Well before the default deadline: only the configured one can have closed it.
      await waitFor("the silent connection to be closed", () => closed || undefined, CLIENT_LIMITS_DEFAULTS.handshakeTimeoutMs / 2, 50);
    } finally {
      socket.destroy();
    }
  });
});
