import { describe, expect, it } from "vitest";
import { CLIENT_LIMIT_FLAG_DEFAULTS } from "../../src/cli/server-command.js";
import { CLIENT_LIMITS_DEFAULTS } from "../../src/server/client-limits.js";
import { APPLIED_WAITERS_MAX_BOUNDS } from "../../src/server/waiting-requests.js";
import { EXPIRY_TICK_INTERVAL_MS_BOUNDS, EXPIRY_TICK_INTERVAL_MS_DEFAULT, type ServerConfig, validateServerConfig } from "../../src/server/config.js";

const valid: ServerConfig = {
  id: 1, dataDir: "/tmp/kvraft-config-test", peers: new Map([[1, { host: "127.0.0.1", port: 7000 }]]),
  initialClusterState: "new", clusterId: undefined, listenHost: "127.0.0.1",
  peerPort: 7000, clientPort: 0, httpPort: 0, memcachedPort: 0, adminPort: undefined, advertise: {}, coordinator: undefined,
  tickMs: 100, heartbeatTicks: 1, electionTicks: 10, adminToken: undefined, quotaBytes: 0, requestTimeoutMs: 5000,
  snapshotEveryEntries: 10_000, readyLagEntriesMax: 1000, pendingProposalsMax: 65536, shutdownTransferMs: 2000,
  expiryTickIntervalMsMin: EXPIRY_TICK_INTERVAL_MS_DEFAULT,
  tls: { client: undefined, peer: undefined }, tokens: undefined, memcachedFlushAll: "admin",
};

describe("the server config's expiry tick interval (issue 16)", () => {
  it("accepts the default and both bounds", () => {
    for (const ms of [EXPIRY_TICK_INTERVAL_MS_DEFAULT, EXPIRY_TICK_INTERVAL_MS_BOUNDS[0], EXPIRY_TICK_INTERVAL_MS_BOUNDS[1]]) {
      expect(validateServerConfig({ ...valid, expiryTickIntervalMsMin: ms }).expiryTickIntervalMsMin).toBe(ms);
    }
  });

  it("refuses values outside the bounds, naming the field, the bounds and the unit", () => {
    expect(() => validateServerConfig({ ...valid, expiryTickIntervalMsMin: EXPIRY_TICK_INTERVAL_MS_BOUNDS[0] - 1 }))
      .toThrow(/expiryTickIntervalMsMin: must be an integer in \[10, 1000\] ms, got 9/);
    expect(() => validateServerConfig({ ...valid, expiryTickIntervalMsMin: EXPIRY_TICK_INTERVAL_MS_BOUNDS[1] + 1 }))
      .toThrow(/expiryTickIntervalMsMin: must be an integer in \[10, 1000\] ms, got 1001/);
  });
});

describe("the server config's bound on callers waiting for an index to apply (issue 17)", () => {
  it("accepts both bounds and refuses values outside them, naming the field and the unit", () => {
    for (const max of [APPLIED_WAITERS_MAX_BOUNDS[0], APPLIED_WAITERS_MAX_BOUNDS[1]]) {
      expect(validateServerConfig({ ...valid, appliedWaitersMax: max }).appliedWaitersMax).toBe(max);
    }
    expect(() => validateServerConfig({ ...valid, appliedWaitersMax: 0 })).toThrow(/appliedWaitersMax: must be an integer in \[1, 1048576\], got 0/);
    expect(() => validateServerConfig({ ...valid, appliedWaitersMax: APPLIED_WAITERS_MAX_BOUNDS[1] + 1 }))
      .toThrow(/appliedWaitersMax: must be an integer in \[1, 1048576\], got 1048577/);
  });
});

describe("the server's flags", () => {
  it("show the client-port limits' defaults the server uses (written out so that --help loads no server code)", () => {
    expect({ ...CLIENT_LIMIT_FLAG_DEFAULTS }).toEqual({ ...CLIENT_LIMITS_DEFAULTS });
  });
});
