import { describe, expect, it } from "vitest";
import { checkTiming, decide, microTime } from "../../src/operator/controller/leader-election.js";
import type { LeaseSpec } from "../../src/operator/controller/leader-election.js";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const base = { identity: "me", leaseDurationSeconds: 15 };

describe("leader election decision", () => {
  it("creates the Lease when there is none", () => {
    const { decision } = decide({ ...base, lease: undefined, nowMs: T0, previous: undefined });
    expect(decision.action).toBe("create");
    expect(decision.action === "create" && decision.spec.holderIdentity).toBe("me");
  });

  it("renews its own Lease, keeping acquire time and transitions", () => {
    const lease: LeaseSpec = { holderIdentity: "me", leaseDurationSeconds: 15, acquireTime: microTime(T0), renewTime: microTime(T0), leaseTransitions: 4 };
    const { decision } = decide({ ...base, lease, nowMs: T0 + 2_000, previous: undefined });
    expect(decision).toEqual({ action: "renew", spec: { holderIdentity: "me", leaseDurationSeconds: 15, acquireTime: microTime(T0), renewTime: microTime(T0 + 2_000), leaseTransitions: 4 } });
  });

  it("follows another holder until its record goes unchanged for a whole lease duration on the local clock", () => {
    // The other's renewTime is far in the past by our clock (skew): that alone must not let us take over.
    const lease: LeaseSpec = { holderIdentity: "other", leaseDurationSeconds: 15, renewTime: "2000-01-01T00:00:00.000000Z", leaseTransitions: 2 };
    const first = decide({ ...base, lease, nowMs: T0, previous: undefined });
    expect(first.decision).toEqual({ action: "follow", holder: "other", expiresInMs: 15_000 });
    const later = decide({ ...base, lease, nowMs: T0 + 14_999, previous: first.observed });
    expect(later.decision.action).toBe("follow");
    const expired = decide({ ...base, lease, nowMs: T0 + 15_000, previous: later.observed });
    expect(expired.decision.action).toBe("acquire");
    expect(expired.decision.action === "acquire" && expired.decision.spec.leaseTransitions).toBe(3);
  });

  it("a renewal by the holder restarts the clock", () => {
    const lease: LeaseSpec = { holderIdentity: "other", leaseDurationSeconds: 15, renewTime: microTime(T0), leaseTransitions: 0 };
    const first = decide({ ...base, lease, nowMs: T0, previous: undefined });
    const renewed = { ...lease, renewTime: microTime(T0 + 10_000) };
    const after = decide({ ...base, lease: renewed, nowMs: T0 + 16_000, previous: first.observed });
    expect(after.decision).toEqual({ action: "follow", holder: "other", expiresInMs: 15_000 });
  });

  it("takes a released Lease (no holder) at once", () => {
    const { decision } = decide({ ...base, lease: { holderIdentity: "", leaseDurationSeconds: 1, leaseTransitions: 7 }, nowMs: T0, previous: undefined });
    expect(decision.action).toBe("acquire");
  });

  it("writes MicroTime with six fractional digits", () => {
    expect(microTime(T0 + 123)).toBe("2026-01-01T00:00:00.123000Z");
  });

  it("checks that retry < renew deadline < lease duration", () => {
    expect(() => checkTiming({ leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).not.toThrow();
    expect(() => checkTiming({ leaseDurationSeconds: 5, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toThrow(RangeError);
    expect(() => checkTiming({ leaseDurationSeconds: 15, renewDeadlineMs: 1_000, retryPeriodMs: 2_000 })).toThrow(RangeError);
  });
});
