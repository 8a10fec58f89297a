import { describe, expect, it } from "vitest";
import { AttemptTimeoutError, ConnectionLostError } from "../../src/client/errors.js";
import type { ClientRuntime } from "../../src/client/runtime.js";
import { encodeCommand, type KvResult } from "../../src/kv/index.js";
import type { Request, Response } from "../../src/protocol/index.js";
import { applyOutcome } from "../../src/sim/core/kv-adapter.js";
import { SimClientConnection } from "../../src/sim/core/sim-client-connection.js";
import { runSimulation } from "../../src/sim/core/simulation.js";
import { emptyStats, type SimStats } from "../../src/sim/core/types.js";

/** A virtual clock whose timers run when the test moves it on. */
class ManualRuntime implements ClientRuntime {
  private time = 0;
  private timers: { at: number; action: () => void; live: boolean }[] = [];
  now(): number {
    return this.time;
  }
  after(delayMs: number, action: () => void): () => void {
    const timer = { at: this.time + delayMs, action, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  }
  random(): number {
    return 0.5;
  }
  newRequestId(): string {
    return "test";
  }
  advance(ms: number): void {
    this.time += ms;
    const due = this.timers.filter((timer) => timer.at <= this.time);
    this.timers = this.timers.filter((timer) => timer.at > this.time);
    for (const timer of due) if (timer.live) timer.action();
  }
}

function connection(runtime: ClientRuntime, carried: Request[]): SimClientConnection {
  return new SimClientConnection("member-1:7100", 1, 1, false, runtime, (_connection, request) => carried.push(request));
}

const GET_OK = (requestId: number): Response => ({ kind: "get-ok", requestId, revision: 5 });

describe("the simulated clients run the client library", () => {
  it("exercises its connections, redirects, retries and session expiry, with every check passing", async () => {
    const totals: SimStats = emptyStats();
    for (let seed = 1; seed <= 12; seed++) {
      const result = await runSimulation({ seed });
      expect(result.violation, `seed ${seed}`).toBeUndefined();
      expect(result.linearizability, `seed ${seed}`).toBe("ok");
      for (const key of Object.keys(totals) as (keyof SimStats)[]) totals[key] += result.stats[key];
    }
    // What the library did, from its own events (LeaderRouter, runCall, SessionWriter).
    expect(totals.clientConnections).toBeGreaterThan(100);
    expect(totals.clientRedirects).toBeGreaterThan(10);
    expect(totals.clientRetries).toBeGreaterThan(100);
    expect(totals.sessionsRegistered).toBeGreaterThan(12);
    expect(totals.sessionsExpired).toBeGreaterThan(0);
  });

  it("a connection matches replies by frame id, times an attempt out on the virtual clock, and fails its calls when it ends", async () => {
    const runtime = new ManualRuntime();
    const carried: Request[] = [];
    const link = connection(runtime, carried);
    const answered = link.request((requestId) => ({ kind: "get", requestId, key: new Uint8Array([1]), consistency: "linearizable" }), 100);
    const timedOut = link.request((requestId) => ({ kind: "get", requestId, key: new Uint8Array([2]), consistency: "linearizable" }), 50);
    const lost = link.request((requestId) => ({ kind: "get", requestId, key: new Uint8Array([3]), consistency: "linearizable" }), 100);
    expect(carried.map((request) => request.requestId)).toEqual([1, 2, 3]);
    link.deliver(GET_OK(1));
    await expect(answered).resolves.toEqual(GET_OK(1));
    runtime.advance(60);
    await expect(timedOut).rejects.toBeInstanceOf(AttemptTimeoutError);
    link.deliver(GET_OK(2)); // the reply to a call that timed out is dropped, as on a socket
    const closedWith: Error[] = [];
    link.onClose((error) => closedWith.push(error));
    link.lost("member-1:7100 closed the connection");
    await expect(lost).rejects.toBeInstanceOf(ConnectionLostError);
    expect(closedWith).toHaveLength(1);
    expect(link.closed).toBe(true);
    await expect(link.request((requestId) => ({ kind: "status", requestId }), 10)).rejects.toBeInstanceOf(ConnectionLostError);
  });

  it("counts a write refused for its expired session as executing nothing (a retry after expiry is not a second execution)", () => {
    const data = encodeCommand({ command: { type: "put", key: new Uint8Array([1]), value: new Uint8Array([2]), session: { sessionId: 7, seq: 5, lowestUnackedSeq: 5 } }, stampMs: 0 });
    const refused: KvResult = { ok: false, error: "session-expired", revision: 35, message: "session 7 is unknown" };
    expect(applyOutcome(35, data, refused).exactlyOnce).toEqual({ id: "7:5", executed: false });
    const stored: KvResult = { ok: true, kind: "stored", revision: 28, version: 28, createVersion: 28 };
    expect(applyOutcome(28, data, stored).exactlyOnce).toEqual({ id: "7:5", executed: true });
    // Answered from the session cache: the revision is the executing entry's, not this one's.
    expect(applyOutcome(40, data, stored).exactlyOnce).toEqual({ id: "7:5", executed: false });
  });
});
