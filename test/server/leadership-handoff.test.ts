import { afterEach, describe, expect, it } from "vitest";
import { InProcessCluster } from "../support/in-process-cluster.js";

/** Far longer than either stop below may take: a stop that waits it out shows the transfer was not heard. */
const TRANSFER_WAIT_MS = 10_000;
/**
 * A transfer heard as it happens, or a silent target noticed within a few heartbeats, ends
 * the wait well inside this, even on a loaded machine; a stop that missed the move waits
 * out TRANSFER_WAIT_MS. (A live target is never "silent", so only the role-changed event
 * can end the first test's wait early.)
 */
const STOP_MS_MAX = 6000;
const TIMING = { tickMs: 20, heartbeatTicks: 15, electionTicks: 60 } as const;

let cluster: InProcessCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

/** Issue 17: a leader's stop hands leadership over, hearing the move as the Replica's event (in-process members). */
describe("a leader that shuts down", () => {
  const stopTimed = async (c: InProcessCluster, id: number): Promise<number> => {
    const startedAtMs = performance.now();
    await c.server(id).shutdown("SIGTERM");
    c.servers.delete(id);
    return performance.now() - startedAtMs;
  };

  /** When the member logged the first line whose message starts with `prefix` (pino's time, ms). */
  const loggedAtMs = (c: InProcessCluster, id: number, prefix: string): number => {
    const line = c.log(id).split("\n").map((text) => JSON.parse(text) as { time: number; msg: string }).find((entry) => entry.msg.startsWith(prefix));
    if (line === undefined) throw new Error(`member ${id} logged no line starting "${prefix}"`);
    return line.time;
  };

  it("hands leadership to a follower and goes on as soon as the move is heard", async () => {
    const c = (cluster = await InProcessCluster.create(3, { shutdownTransferMs: TRANSFER_WAIT_MS, ...TIMING }));
    await c.startAll();
    const leader = await c.waitForLeader();
    const ms = await stopTimed(c, leader);
    expect(ms).toBeLessThan(STOP_MS_MAX);
    expect(c.log(leader)).toMatch(/"moved":true/);
    expect(loggedAtMs(c, leader, "leadership transfer to")).toBeGreaterThanOrEqual(loggedAtMs(c, leader, "shutting down"));
    const next = await c.waitForLeader();
    expect(next).not.toBe(leader);
  }, 30_000);

  it("exits without waiting out the transfer when its followers are gone", async () => {
    const c = (cluster = await InProcessCluster.create(3, { shutdownTransferMs: TRANSFER_WAIT_MS, ...TIMING }));
    await c.startAll();
    const leader = await c.waitForLeader();
    const followers = [1, 2, 3].filter((id) => id !== leader);
    await Promise.all(followers.map((id) => stopTimed(c, id)));
    const ms = await stopTimed(c, leader);
    expect(ms).toBeLessThan(STOP_MS_MAX);
    expect(c.log(leader)).not.toMatch(/"moved":true/);
  }, 30_000);
});
