import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backoffDelayMs, WorkQueue } from "../../src/operator/controller/work-queue.js";

const options = { keysMax: 3, baseDelayMs: 100, delayMaxMs: 1_000 };

describe("controller work queue", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("queues a key once however many events name it, in arrival order", async () => {
    const queue = new WorkQueue(options);
    expect(queue.add("ns/a")).toBe(true);
    expect(queue.add("ns/b")).toBe(true);
    expect(queue.add("ns/a")).toBe(true);
    expect(queue.depth).toBe(2);
    expect(await queue.get()).toBe("ns/a");
    expect(await queue.get()).toBe("ns/b");
  });

  it("never hands out a key being processed; one added meanwhile comes back after done()", async () => {
    const queue = new WorkQueue(options);
    queue.add("ns/a");
    const key = await queue.get();
    expect(key).toBe("ns/a");
    queue.add("ns/a");
    expect(queue.depth).toBe(0); // not ready while processing
    queue.done("ns/a");
    expect(queue.depth).toBe(1);
    expect(await queue.get()).toBe("ns/a");
  });

  it("hands a key straight to a worker already waiting", async () => {
    const queue = new WorkQueue(options);
    const waiting = queue.get();
    queue.add("ns/a");
    expect(await waiting).toBe("ns/a");
  });

  it("refuses new keys past its bound, but still accepts keys it holds", () => {
    const queue = new WorkQueue(options);
    expect(["ns/a", "ns/b", "ns/c"].map((k) => queue.add(k))).toEqual([true, true, true]);
    expect(queue.add("ns/d")).toBe(false);
    expect(queue.add("ns/a")).toBe(true);
    expect(queue.size).toBe(3);
  });

  it("backs off exponentially per key, capped, and forgets failures on success", async () => {
    expect([1, 2, 3, 4, 5, 10].map((f) => backoffDelayMs(f, options))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(backoffDelayMs(0, options)).toBe(0);
    const queue = new WorkQueue(options);
    queue.add("ns/a");
    await queue.get();
    expect(queue.addWithBackoff("ns/a")).toBe(100);
    queue.done("ns/a");
    expect(queue.depth).toBe(0);
    vi.advanceTimersByTime(99);
    expect(queue.depth).toBe(0);
    vi.advanceTimersByTime(1);
    expect(queue.depth).toBe(1);
    await queue.get();
    expect(queue.addWithBackoff("ns/a")).toBe(200);
    queue.done("ns/a");
    queue.forget("ns/a");
    expect(queue.failuresOf("ns/a")).toBe(0);
    expect(queue.addWithBackoff("ns/b")).toBe(100);
  });

  it("an immediate add overrides a pending delay", () => {
    const queue = new WorkQueue(options);
    queue.addAfter("ns/a", 10_000);
    expect(queue.depth).toBe(0);
    queue.add("ns/a");
    expect(queue.depth).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(queue.depth).toBe(1); // the cancelled delay adds nothing
  });

  it("wakes waiting workers with undefined on shutdown and accepts nothing after", async () => {
    const queue = new WorkQueue(options);
    const waiting = queue.get();
    queue.shutDown();
    expect(await waiting).toBeUndefined();
    expect(queue.add("ns/a")).toBe(false);
    expect(await queue.get()).toBeUndefined();
  });

  it("rejects done() for a key it did not hand out", () => {
    const queue = new WorkQueue(options);
    expect(() => queue.done("ns/a")).toThrow(/not being processed/);
  });

  it("rejects inconsistent options", () => {
    expect(() => new WorkQueue({ keysMax: 0, baseDelayMs: 1, delayMaxMs: 2 })).toThrow(RangeError);
    expect(() => new WorkQueue({ keysMax: 1, baseDelayMs: 10, delayMaxMs: 2 })).toThrow(RangeError);
  });
});
