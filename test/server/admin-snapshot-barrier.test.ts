import express from "express";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { KvStateMachine } from "../../src/kv/index.js";
import { NotLeaderError } from "../../src/server/errors.js";
import { adminRoutes } from "../../src/server/http/admin-routes.js";
import type { Replica } from "../../src/server/replica.js";

/** What the leader's predecessor acknowledged, and what the new leader has applied when the snapshot is asked for. */
const ACKNOWLEDGED_INDEX = 5;
const APPLIED_AT_ELECTION = 3;

/**
 * The parts of a Replica the snapshot route uses: a leader fresh from an election whose
 * ReadIndex round confirms the index its predecessor committed, and whose apply loop
 * reaches that index a turn of the event loop after it is waited for.
 */
function freshLeader(readIndex: () => Promise<number>): { replica: Replica; kv: KvStateMachine } {
  const kv = new KvStateMachine();
  for (let index = 1; index <= APPLIED_AT_ELECTION; index++) kv.applyNoop(index);
  const applyUpTo = async (index: number): Promise<void> => {
    while (kv.appliedIndex < index) {
      await new Promise((resolve) => setImmediate(resolve));
      kv.applyNoop(kv.appliedIndex + 1);
    }
  };
  const replica = {
    status: () => ({ role: "leader" }),
    readIndex,
    waitApplied: applyUpTo,
    state: () => kv,
    configuration: () => ({ voters: [1, 2, 3], learners: [] }),
    logTerm: () => 2,
  };
  // A stand-in for the members of Replica this route calls, nothing more: the cast says so.
  return { replica: replica as unknown as Replica, kv };
}

describe("GET /v1/admin/snapshot on a leader fresh from an election", () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    server = undefined;
  });

  async function serve(replica: Replica): Promise<string> {
    const app = express();
    app.use(adminRoutes(replica, { clusterId: "c", authorize: (_req, _res, next) => next(), proxyToLeader: () => Promise.reject(new Error("a leader never proxies")) }));
    const started = app.listen(0, "127.0.0.1");
    server = started;
    await new Promise((resolve) => started.once("listening", resolve));
    return `http://127.0.0.1:${(started.address() as AddressInfo).port}/v1/admin/snapshot`;
  }

  it("captures the state only once it has applied what a ReadIndex round confirms: the snapshot holds every acknowledged write", async () => {
    const { replica } = freshLeader(() => Promise.resolve(ACKNOWLEDGED_INDEX));
    const response = await fetch(await serve(replica), { signal: AbortSignal.timeout(10_000) });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-kvraft-revision")).toBe(String(ACKNOWLEDGED_INDEX));
    const body = new Uint8Array(await response.arrayBuffer());
    expect(KvStateMachine.restore(body).appliedIndex).toBe(ACKNOWLEDGED_INDEX);
  });

  it("answers 503 NOT_LEADER, and no snapshot, when leadership is lost before the round confirms", async () => {
    const { replica } = freshLeader(() => Promise.reject(new NotLeaderError({ leaderId: 2 })));
    const response = await fetch(await serve(replica), { signal: AbortSignal.timeout(10_000) });
    expect(response.status).toBe(503);
    expect(response.headers.get("x-kvraft-revision")).toBeNull();
    expect(((await response.json()) as { error: { code: string; retryable: boolean } }).error).toMatchObject({ code: "NOT_LEADER", retryable: true });
  });
});
