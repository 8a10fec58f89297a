import { BinaryForwarder } from "../../src/server/forwarding.js";

/** Member 2's forwarder to a leader (member 1) whose client port is on loopback at `port`. */
export function forwarderTo(port: number, forwardsInFlightMax = 16): BinaryForwarder {
  return new BinaryForwarder({ leaderId: () => 1, addresses: () => ({ client: `127.0.0.1:${port}` }) }, {
    memberId: 2, requestTimeoutMs: 5000, forwardsInFlightMax, frameBytesMax: 1024 * 1024, tls: () => undefined, provesMember: false, authRequired: false,
  });
}
