import { describe, expect, it } from "vitest";
import { BusyError, UnavailableError } from "../../src/server/errors.js";
import { WaitingRequests } from "../../src/server/waiting-requests.js";

type Outcome = "pending" | "resolved" | Error;

/** Watches a promise at once (so a rejection is never unhandled): how it stands when asked. */
function track<T>(promise: Promise<T>): () => Outcome {
  let outcome: Outcome = "pending";
  promise.then(() => { outcome = "resolved"; }, (error: Error) => { outcome = error; });
  return () => outcome;
}

/** How a promise stands once every microtask queued so far has run (one macrotask turn). */
async function settled<T>(promise: Promise<T>): Promise<Outcome> {
  const outcome = track(promise);
  await new Promise((resolve) => setImmediate(resolve));
  return outcome();
}

describe("waiters for an applied index (issue 17)", () => {
  it("are refused as busy past appliedWaitersMax, and admitted again once one is served", async () => {
    const waiting = new WaitingRequests(() => 0, undefined, 2);
    const first = waiting.appliedAtLeast(5);
    const second = waiting.appliedAtLeast(6);
    const refused = await settled(waiting.appliedAtLeast(7));
    expect(refused).toBeInstanceOf(BusyError);
    expect((refused as Error).message).toMatch(/2 requests are waiting .*appliedWaitersMax.*retry shortly/);
    waiting.serve(5);
    expect(await settled(first)).toBe("resolved");
    expect(await settled(second)).toBe("pending");
    expect(await settled(waiting.appliedAtLeast(7))).toBe("pending");
  });

  it("are rejected by failAll, so a member shutting down leaves no caller hanging", async () => {
    const waiting = new WaitingRequests(() => 0, undefined, 10);
    const outcomes = [track(waiting.appliedAtLeast(3)), track(waiting.appliedAtLeast(4))];
    const stopping = new UnavailableError("this member is shutting down: retry on another member");
    waiting.failAll(stopping);
    await new Promise((resolve) => setImmediate(resolve));
    for (const outcome of outcomes) expect(outcome()).toBe(stopping);
    // The list is empty afterwards: the bound counts only live waiters.
    for (let i = 0; i < 10; i++) void waiting.appliedAtLeast(100 + i).catch(() => undefined);
    expect(await settled(waiting.appliedAtLeast(200))).toBeInstanceOf(BusyError);
  });
});
