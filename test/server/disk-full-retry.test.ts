import { describe, expect, it } from "vitest";
import { validateServerConfig } from "../../src/server/config.js";
import {
  DISK_FULL_RETRY_MS_BOUNDS,
  DiskFullRetry,
  DiskFullRetryCancelled,
  type DiskFullEvent,
  validateDiskFullRetryLimits,
} from "../../src/server/disk-full-retry.js";
import { NoSpaceError } from "../../src/server/errors.js";
import { NODE_SCHEDULER } from "../../src/server/node-scheduler.js";
import { DiskFullError, StorageIoError } from "../../src/storage/index.js";
import { InProcessCluster } from "../support/in-process-cluster.js";

const diskFull = (): DiskFullError => new DiskFullError("/data/wal-0000000000000001.seg", new Error("ENOSPC"));

function retrying(limits = { diskFullRetryMsMin: 5, diskFullRetryMsMax: 20 }, clock = () => Date.now()): { retry: DiskFullRetry; events: DiskFullEvent[] } {
  const events: DiskFullEvent[] = [];
  return { retry: new DiskFullRetry(3, limits, { ...NODE_SCHEDULER, now: clock }, (event) => events.push(event)), events };
}

describe("retrying a write that found the disk full (issue 15)", () => {
  it("retries until the write succeeds, with the alarm raised once and cleared once, refusing writes meanwhile", async () => {
    const { retry, events } = retrying();
    let attempts = 0;
    const refusals: unknown[] = [];
    await retry.persist(async () => {
      attempts++;
      if (attempts > 1) refusals.push(((): unknown => { try { retry.refuseWrites(); return undefined; } catch (error) { return error; } })());
      if (attempts <= 3) throw diskFull();
    });
    expect(attempts).toBe(4);
    expect(retry.retries()).toBe(3);
    expect(retry.isFull()).toBe(false);
    expect(() => retry.refuseWrites()).not.toThrow();
    expect(events.map((e) => e.type)).toEqual(["disk-full", "disk-space-recovered"]);
    expect(events[0]).toMatchObject({ message: expect.stringContaining("the disk of member 3 is full (writing /data/wal-0000000000000001.seg)") as unknown });
    for (const refusal of refusals) {
      expect(refusal).toBeInstanceOf(NoSpaceError);
      expect((refusal as NoSpaceError).retryable).toBe(true);
      expect((refusal as NoSpaceError).message).toMatch(/the disk of member 3 is full .*writes resume by themselves/);
    }
  });

  it("waits twice as long after each failure, up to the maximum", async () => {
    const { retry } = retrying({ diskFullRetryMsMin: 10, diskFullRetryMsMax: 40 });
    const at: number[] = [];
    await retry.persist(async () => {
      at.push(performance.now());
      if (at.length <= 5) throw diskFull();
    });
    const waits = at.slice(1).map((t, i) => t - (at[i] as number));
    // 10, 20, 40, 40, 40 ms, give or take the timers' slack.
    expect(waits[0]).toBeGreaterThanOrEqual(9);
    expect(waits[1]).toBeGreaterThanOrEqual(19);
    expect(waits[2]).toBeGreaterThanOrEqual(39);
    expect(Math.max(...waits)).toBeLessThan(40 + 200);
  });

  it("throws any other error at once, and a cancelled wait as DiskFullRetryCancelled", async () => {
    const { retry } = retrying();
    const broken = new StorageIoError("write", "/data/wal.seg", new Error("EIO"));
    let attempts = 0;
    await expect(retry.persist(async () => { attempts++; throw broken; })).rejects.toBe(broken);
    expect(attempts).toBe(1);
    const slow = retrying({ diskFullRetryMsMin: 60_000, diskFullRetryMsMax: 60_000 }).retry;
    const waiting = slow.persist(async () => { throw diskFull(); });
    setTimeout(() => slow.cancel(), 10);
    await expect(waiting).rejects.toBeInstanceOf(DiskFullRetryCancelled);
  });

  it("delays a local snapshot that found the disk full by the longest wait, and passes other errors on", () => {
    let now = 1000;
    const { retry } = retrying({ diskFullRetryMsMin: 5, diskFullRetryMsMax: 500 }, () => now);
    expect(retry.snapshotMayStart()).toBe(true);
    expect(retry.snapshotFailed(new Error("EIO"))).toBe(false);
    expect(retry.snapshotFailed(diskFull())).toBe(true);
    expect(retry.snapshotMayStart()).toBe(false);
    now += 500;
    expect(retry.snapshotMayStart()).toBe(true);
  });

  it("validates its limits, naming the field", async () => {
    expect(validateDiskFullRetryLimits({ diskFullRetryMsMin: DISK_FULL_RETRY_MS_BOUNDS[0], diskFullRetryMsMax: DISK_FULL_RETRY_MS_BOUNDS[1] })).toBeDefined();
    expect(() => validateDiskFullRetryLimits({ diskFullRetryMsMin: 0, diskFullRetryMsMax: 100 })).toThrow(/diskFullRetryMsMin = 0: must be an integer in \[1, 60000\] ms/);
    expect(() => validateDiskFullRetryLimits({ diskFullRetryMsMin: 10, diskFullRetryMsMax: 60_001 })).toThrow(/diskFullRetryMsMax/);
    expect(() => validateDiskFullRetryLimits({ diskFullRetryMsMin: 1.5, diskFullRetryMsMax: 100 })).toThrow(/diskFullRetryMsMin/);
    expect(() => validateDiskFullRetryLimits({ diskFullRetryMsMin: 200, diskFullRetryMsMax: 100 })).toThrow(/diskFullRetryMsMin = 200 is above diskFullRetryMsMax = 100/);
    const cluster = await InProcessCluster.create(1);
    try {
      const config = cluster.config(1);
      expect(validateServerConfig({ ...config, diskFullRetryMsMin: 100, diskFullRetryMsMax: 1000 }).diskFullRetryMsMax).toBe(1000);
      expect(() => validateServerConfig({ ...config, diskFullRetryMsMin: 0 })).toThrow(/diskFullRetryMsMin/);
      expect(() => validateServerConfig({ ...config, diskFullRetryMsMax: 120_000 })).toThrow(/diskFullRetryMsMax/);
      expect(() => validateServerConfig({ ...config, diskFullRetryMsMin: 500, diskFullRetryMsMax: 100 })).toThrow(/diskFullRetryMsMin must not be above diskFullRetryMsMax/);
    } finally {
      await cluster.stopAll();
    }
  });
});
