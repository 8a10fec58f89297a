import { afterEach, describe, expect, it } from "vitest";
import type { RunningCoordinator } from "../../src/coord/index.js";
import { startCoordinator } from "../../src/coord/index.js";
import type { CoordReporter, CoordReporterEvent } from "../../src/server/coord-reporter.js";
import { startCoordReporter } from "../../src/server/coord-reporter.js";
import { freePorts } from "../support/ports.js";
import { waitFor } from "../support/wait.js";
import { CLUSTER, statusOf } from "../coord/fixtures.js";

/** The server-side loop against a real coordinator on loopback, stopped and restarted under it. */
describe("coordinator reporter", () => {
  let coordinator: RunningCoordinator | undefined;
  let reporter: CoordReporter | undefined;
  const events: CoordReporterEvent[] = [];

  afterEach(async () => {
    reporter?.stop();
    await coordinator?.stop();
    reporter = undefined;
    coordinator = undefined;
    events.length = 0;
  });

  const startOn = (port: number): Promise<RunningCoordinator> => startCoordinator({ host: "127.0.0.1", port, unreachableAfterMs: 1000 });
  const memberSeen = async (c: RunningCoordinator): Promise<true | undefined> =>
    c.view()[0]?.members.some((m) => m.id === 1 && m.liveness === "alive") === true ? true : undefined;

  it("registers, then heartbeats its current status every interval", async () => {
    const [port] = (await freePorts(1)) as [number];
    coordinator = await startOn(port);
    let commitIndex = 0;
    reporter = startCoordReporter({
      coordinatorUrl: coordinator.url, intervalMs: 20, clusterId: CLUSTER,
      status: () => statusOf(1, { role: "leader", term: 2, commitIndex: ++commitIndex }), onEvent: (e) => events.push(e),
    });
    const running = coordinator;
    await waitFor("three heartbeats after the register", () => ((running.view()[0]?.members[0]?.commitIndex ?? 0) >= 4 ? true : undefined));
    expect(events[0]).toEqual({ type: "registered", coordinatorUrl: coordinator.url });
    expect(running.view()[0]?.leader).toMatchObject({ id: 1, term: 2 });
  });

  it("with no coordinator, failures are events with a growing, capped backoff; when one comes up it is found", async () => {
    const [port] = (await freePorts(1)) as [number];
    reporter = startCoordReporter({
      coordinatorUrl: `http://127.0.0.1:${port}`, intervalMs: 20, backoffMsMax: 100, clusterId: CLUSTER,
      status: () => statusOf(1), onEvent: (e) => events.push(e),
    });
    await waitFor("four failed attempts", () => (events.length >= 4 ? true : undefined));
    const failures = events.filter((e): e is Extract<CoordReporterEvent, { type: "failed" }> => e.type === "failed");
    expect(failures.map((f) => f.consecutiveFailures).slice(0, 4)).toEqual([1, 2, 3, 4]);
    expect(failures.every((f) => f.phase === "register" && f.error.includes("ECONNREFUSED"))).toBe(true);
    expect(failures[0]?.retryInMs).toBeGreaterThanOrEqual(40);
    expect(failures[3]?.retryInMs).toBeLessThanOrEqual(120);
    coordinator = await startOn(port);
    const up = coordinator;
    await waitFor("the member in the coordinator's view", () => memberSeen(up));
    // The coordinator can list the member before the reporter has read its answer.
    await waitFor("the registered and recovered events", () =>
      ["registered", "recovered"].every((type) => events.some((e) => e.type === type)) || undefined);
  });

  it("a restarted coordinator rebuilds the view from heartbeats alone (no new register)", async () => {
    const [port] = (await freePorts(1)) as [number];
    coordinator = await startOn(port);
    reporter = startCoordReporter({ coordinatorUrl: coordinator.url, intervalMs: 20, backoffMsMax: 50, clusterId: CLUSTER, status: () => statusOf(1), onEvent: (e) => events.push(e) });
    const first = coordinator;
    await waitFor("the member in the first coordinator's view", () => memberSeen(first));
    await coordinator.stop();
    coordinator = undefined;
    await waitFor("a failed heartbeat", () => (events.some((e) => e.type === "failed" && e.phase === "heartbeat") ? true : undefined));
    coordinator = await startOn(port);
    const second = coordinator;
    await waitFor("the member in the restarted coordinator's view", () => memberSeen(second));
    expect(events.filter((e) => e.type === "registered")).toHaveLength(1);
  });

  it("a status() that throws is a failure event, never an exception", async () => {
    const [port] = (await freePorts(1)) as [number];
    coordinator = await startOn(port);
    reporter = startCoordReporter({
      coordinatorUrl: coordinator.url, intervalMs: 20, clusterId: CLUSTER,
      status: () => { throw new Error("replica is closing"); }, onEvent: (e) => events.push(e),
    });
    await waitFor("a failure event", () => (events.length > 0 ? true : undefined));
    expect(events[0]).toMatchObject({ type: "failed", phase: "register", error: "reading the server status failed: replica is closing" });
  });

  it("refuses an interval outside its limits and a URL that is not http(s)", () => {
    const base = { clusterId: CLUSTER, status: () => statusOf(1) };
    expect(() => startCoordReporter({ ...base, coordinatorUrl: "http://127.0.0.1:1", intervalMs: 0 })).toThrow(/intervalMs must be 10\.\.60000/);
    expect(() => startCoordReporter({ ...base, coordinatorUrl: "127.0.0.1:7070", intervalMs: 1000 })).toThrow(/http/);
  });
});
