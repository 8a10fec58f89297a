import { describe, expect, it } from "vitest";
import { DEFAULT_INFORMER_HEALTH_BOUNDS, InformerHealth } from "../../src/operator/controller/informer-health.js";

const bounds = { syncMsMax: 10_000, failingMsMax: 5_000 };

describe("informer health (/healthz of the operator)", () => {
  it("is healthy while an informer syncs within the bound, unhealthy past it, with the kind and the last error", () => {
    const health = new InformerHealth(bounds);
    health.started("Pod", 0);
    expect(health.problem(10_000)).toBeUndefined();
    health.failed("Pod", 1_000, Object.assign(new Error("Forbidden"), { statusCode: 403 }));
    expect(health.problem(10_001)).toBe("the Pod informer has not synced 10 s after it started (last error: HTTP 403 Forbidden)");
    health.connected("Pod");
    expect(health.problem(10_001)).toBeUndefined();
  });

  it("tolerates an API server restart shorter than the failing bound; a longer failure is unhealthy until a success", () => {
    const health = new InformerHealth(bounds);
    health.started("StatefulSet", 0);
    health.connected("StatefulSet");
    // A restart of a few seconds: several failed attempts, then one that connects.
    for (const atMs of [100_000, 100_500, 101_500, 103_500]) health.failed("StatefulSet", atMs, new Error("connect ECONNREFUSED 127.0.0.1:6443"));
    expect(health.problem(105_000)).toBeUndefined();
    health.connected("StatefulSet");
    expect(health.problem(200_000)).toBeUndefined();
    // Down for longer: the failing time counts from the first failure, not the last.
    health.failed("StatefulSet", 300_000, new Error("connect ECONNREFUSED 127.0.0.1:6443"));
    health.failed("StatefulSet", 304_000, new Error("socket hang up"));
    expect(health.problem(305_000)).toBeUndefined();
    expect(health.problem(305_001)).toBe("the StatefulSet informer has been failing to list or watch for 5 s (last error: socket hang up)");
  });

  it("counts consecutive failures for the restart backoff and forgets them on success", () => {
    const health = new InformerHealth(bounds);
    health.started("Service", 0);
    expect(health.failed("Service", 1, "boom")).toBe(1);
    expect(health.failed("Service", 2, "boom")).toBe(2);
    expect(health.failuresOf("Service")).toBe(2);
    health.connected("Service");
    expect(health.failuresOf("Service")).toBe(0);
    expect(health.failed("Service", 3, "boom")).toBe(1);
  });

  it("a second start of the same kind (a restart) keeps the first start's time", () => {
    const health = new InformerHealth(bounds);
    health.started("ConfigMap", 0);
    health.started("ConfigMap", 9_000);
    expect(health.problem(10_001)).toMatch(/^the ConfigMap informer has not synced/);
  });

  it("cuts a long error to one short line", () => {
    const health = new InformerHealth(bounds);
    health.started("Secret", 0);
    health.failed("Secret", 0, new Error(`${"x".repeat(500)}\nsecond line`));
    const reason = health.problem(20_000) ?? "";
    expect(reason).not.toContain("\n");
    expect(reason.length).toBeLessThan(300);
  });

  it("refuses bounds that are not positive, and a report about a kind that never started", () => {
    expect(() => new InformerHealth({ syncMsMax: 0, failingMsMax: 1 })).toThrow(/syncMsMax 0/);
    expect(() => new InformerHealth(bounds).connected("Pod")).toThrow(/Pod reported before it started/);
  });

  it("by default tolerates a failure longer than the restart backoff's longest wait (30 s)", () => {
    expect(DEFAULT_INFORMER_HEALTH_BOUNDS.failingMsMax).toBeGreaterThan(30_000);
    expect(DEFAULT_INFORMER_HEALTH_BOUNDS.syncMsMax).toBeGreaterThan(DEFAULT_INFORMER_HEALTH_BOUNDS.failingMsMax);
  });
});
