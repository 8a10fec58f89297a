import { describe, expect, it } from "vitest";
import {
  DEFAULT_TRANSPORT_LIMITS, reconnectDelayMs, TransportConfigError, validatePeers, validateTransportConfig,
} from "../../src/transport/index.js";

const base = { selfId: 1, clusterId: "c1" };

function fieldOf(build: () => unknown): string | undefined {
  try {
    build();
  } catch (error) {
    if (error instanceof TransportConfigError) return error.field;
    throw error;
  }
  return undefined;
}

describe("transport config", () => {
  it("fills in defaults", () => {
    const config = validateTransportConfig(base);
    expect(config).toMatchObject({ ...DEFAULT_TRANSPORT_LIMITS, ...base, peers: [] });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("names the field that is out of range", () => {
    expect(fieldOf(() => validateTransportConfig({ ...base, queueBytesMax: -1 }))).toBe("queueBytesMax");
    expect(fieldOf(() => validateTransportConfig({ ...base, connectTimeoutMs: 1.5 }))).toBe("connectTimeoutMs");
    expect(fieldOf(() => validateTransportConfig({ ...base, selfId: 0 }))).toBe("selfId");
    expect(fieldOf(() => validateTransportConfig({ ...base, clusterId: "" }))).toBe("clusterId");
    expect(fieldOf(() => validateTransportConfig({ ...base, clusterId: "x".repeat(129) }))).toBe("clusterId");
    expect(fieldOf(() => validateTransportConfig({ ...base, listenPort: 70_000 }))).toBe("listenPort");
    expect(fieldOf(() => validateTransportConfig({ ...base, reconnectDelayMsMin: 500, reconnectDelayMsMax: 100 }))).toBe("reconnectDelayMsMax");
    expect(fieldOf(() => validateTransportConfig({ ...base, frameBytesMax: 2048, queueBytesMax: 1024 }))).toBe("frameBytesMax");
    expect(fieldOf(() => validateTransportConfig({ ...base, queueBytesMx: 5 } as never))).toBe("queueBytesMx");
  });

  it("checks the peer list: ids, self, duplicates, hosts and ports", () => {
    const peer = { id: 2, host: "127.0.0.1", port: 7000 };
    expect(fieldOf(() => validatePeers([{ ...peer, id: 0 }], 1))).toBe("peers[0].id");
    expect(fieldOf(() => validatePeers([peer, { ...peer, id: 1 }], 1))).toBe("peers[1].id");
    expect(fieldOf(() => validatePeers([peer, peer], 1))).toBe("peers[1].id");
    expect(fieldOf(() => validatePeers([{ ...peer, host: "" }], 1))).toBe("peers[0].host");
    expect(fieldOf(() => validatePeers([{ ...peer, port: 0 }], 1))).toBe("peers[0].port");
    expect(validatePeers([peer], 1)).toStrictEqual([peer]);
  });

  it("says what is wrong in the message", () => {
    expect(() => validateTransportConfig({ ...base, queueMessagesMax: 0 }))
      .toThrow("transport config: queueMessagesMax = 0 is invalid: must be an integer in [1, 1000000]");
  });
});

describe("reconnect backoff", () => {
  const limits = { reconnectDelayMsMin: 100, reconnectDelayMsMax: 5_000 };

  it("doubles per failure from the minimum and stops at the maximum", () => {
    const top = (failures: number): number => reconnectDelayMs(failures, limits, () => 0.999_999);
    expect([1, 2, 3, 4].map(top)).toStrictEqual([100, 200, 400, 800]);
    expect(top(7)).toBe(5_000);
    expect(top(1_000)).toBe(5_000);
  });

  it("keeps at least half of the wait fixed, whatever the jitter", () => {
    expect(reconnectDelayMs(3, limits, () => 0)).toBe(200);
    expect(reconnectDelayMs(3, limits, () => 0.5)).toBe(300);
  });
});
