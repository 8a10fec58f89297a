import { getEventListeners } from "node:events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../../src/devcluster/wait.js";
import type { EventsResult } from "../../src/kv/index.js";
import { defaultRaftConfig } from "../../src/raft/config.js";
import { bootstrapCluster } from "../../src/server/bootstrap.js";
import { BusyError } from "../../src/server/errors.js";
import { Replica } from "../../src/server/replica.js";
import { ReplicaService } from "../../src/server/replica-service.js";
import { MemoryStorage } from "../../src/storage/index.js";

const utf8 = new TextEncoder();
/** Watches open at once: far past appliedWaitersMax, so watches that each held a waiter would be refused. */
const WATCHES = 200;

/**
 * Issue 17: idle watches are woken by the apply of the next entry, not by a poll, and
 * share one waiter on the Replica: a single-member Replica in this process (real Raft
 * core, memory storage) with appliedWaitersMax 1.
 */
describe("idle watches (issue 17)", () => {
  let replica: Replica;
  let service: ReplicaService;

  beforeEach(async () => {
    const storage = new MemoryStorage();
    await bootstrapCluster(storage, [1]);
    replica = await Replica.start({
      raft: { ...defaultRaftConfig(1), electionTicks: 10, heartbeatTicks: 1 },
      storage, send: () => undefined, tickMs: 10, startNonVoting: false,
      snapshotEveryEntries: 1_000_000, pendingProposalsMax: 1000, appliedWaitersMax: 1,
      requestTimeoutMs: 10_000, expiryTickIntervalMsMin: 200,
    });
    service = new ReplicaService(replica, { quotaBytes: 0, leaderHint: (leaderId) => ({ leaderId }) });
    await waitFor("the single member to lead", () => replica.isLeader(), 5000, 10);
  });

  afterEach(async () => {
    service?.close();
    await replica?.stop();
  });

  const put = (key: string): Promise<unknown> => service.write({ type: "put", key: utf8.encode(key), value: utf8.encode("v") });

  it("wake on the apply of a put, all sharing one waiter", async () => {
    const fromRevision = replica.state().appliedIndex + 1;
    const controllers = Array.from({ length: WATCHES }, () => new AbortController());
    const watches = controllers.map((controller) => service.watch(utf8.encode("w/"), { fromRevision, signal: controller.signal }));
    // No timing assertion (figures belong to benchmarks): with appliedWaitersMax 1, 200 watches
    // that each held a waiter, or polled with one, would be refused; they all hear the put.
    await put("w/a");
    const results = await Promise.all(watches);
    for (const result of results as EventsResult[]) expect(result.ok && result.events.length).toBe(1);
    // Each watch took its abort listener away when it woke.
    for (const controller of controllers) expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  it("leave no waiter and no listener behind when many open and are cancelled", async () => {
    for (let round = 0; round < 5; round++) {
      const fromRevision = replica.state().appliedIndex + 1;
      const controllers = Array.from({ length: WATCHES }, () => new AbortController());
      const watches = controllers.map((controller) => service.watch(utf8.encode("idle/"), { fromRevision, signal: controller.signal }));
      for (const controller of controllers) controller.abort();
      for (const result of await Promise.all(watches)) expect(result.ok && result.events.length).toBe(0);
      for (const controller of controllers) expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
      // The shared waiter is served by the next apply: then the one slot is free again.
      await put(`other/${round}`);
    }
    const next = replica.waitApplied(replica.state().appliedIndex + 1);
    let outcome: unknown = "pending";
    next.then(() => { outcome = "applied"; }, (error: unknown) => { outcome = error; });
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcome).not.toBeInstanceOf(BusyError);
    expect(outcome).toBe("pending");
    await put("other/last");
    await next;
  });
});
