import { describe, expect, it } from "vitest";
import { WriteBarrier } from "../../src/server/client-port/write-barrier.js";

/** Settles pending promise reactions (the barrier wakes reads through promises). */
const reactions = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("a connection's write barrier", () => {
  it("lets a read go at once when no write runs", () => {
    expect(new WriteBarrier().beforeRead()).toBeUndefined();
  });

  it("holds a read until every write started before it has finished, in any order, and not for writes started after it", async () => {
    const barrier = new WriteBarrier();
    const first = barrier.writeStarted();
    const second = barrier.writeStarted();
    const woken: string[] = [];
    void barrier.beforeRead()?.then(() => woken.push("read after two"));
    const third = barrier.writeStarted();
    void barrier.beforeRead()?.then(() => woken.push("read after three"));
    barrier.writeFinished(second);
    await reactions();
    expect(woken, "the first write still runs").toEqual([]);
    barrier.writeFinished(first);
    await reactions();
    expect(woken, "the third write started after the first read").toEqual(["read after two"]);
    barrier.writeFinished(third);
    await reactions();
    expect(woken).toEqual(["read after two", "read after three"]);
    expect(barrier.beforeRead()).toBeUndefined();
  });
});
