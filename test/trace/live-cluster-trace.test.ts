import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkTrace, mergeLogs, parseEvents, parseMessageEvent, type ParsedMessageEvent, shivizFileHead, type TraceEvent,
} from "../../src/trace/index.js";
import { freePorts } from "../support/ports.js";
import { CLI, ProcessCluster } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";

/**
 * A real 3-member cluster and its coordinator, each with --trace-log: a few puts, a
 * clean stop (the files are flushed on SIGTERM), then the files merged as ShiViz gets
 * them. The clocks must check out, and the Raft messages of the puts must appear as
 * send/receive pairs across members.
 */
describe("trace logs of a live cluster (--trace-log)", () => {
  let cluster: ProcessCluster;
  let coordinator: ChildProcess | undefined;
  let leader = 0;
  let events: TraceEvent[] = [];

  const stopGracefully = async (child: ChildProcess | undefined): Promise<void> => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };

  beforeAll(async () => {
    const [coordPort] = (await freePorts(1)) as [number];
    const coordinatorUrl = `http://127.0.0.1:${coordPort}`;
    cluster = await ProcessCluster.create(3, ["--coord", coordinatorUrl]);
    const traceLog = (host: string): string => join(cluster.root, `${host}.log`);
    coordinator = spawn(process.execPath, [CLI, "coord", "--port", String(coordPort), "--log-level", "warn", "--trace-log", traceLog("coordinator")], { stdio: "ignore" });
    await waitFor("the coordinator's /healthz", async () => ((await fetch(`${coordinatorUrl}/healthz`).catch(() => undefined))?.ok === true ? true : undefined));
    for (const id of cluster.ports.keys()) cluster.start(id, ["--trace-log", traceLog(`member-${id}`)]);
    leader = await cluster.waitForLeader();
    for (let n = 1; n <= 5; n++) {
      const response = await fetch(`${cluster.http(leader)}/v1/kv/traced-${n}`, { method: "PUT", body: `value ${n}` });
      expect(response.ok).toBe(true);
    }
    // Every member has applied the puts and the coordinator has heard from each: then stop.
    await waitFor("every member applied the puts and reported to the coordinator", async () => {
      const statuses = await Promise.all([1, 2, 3].map((id) => cluster.status(id)));
      const view = await (await fetch(`${coordinatorUrl}/v1/cluster`)).json() as { members?: { appliedIndex: number }[] };
      const applied = Math.min(...statuses.map((s) => s.appliedIndex));
      return applied >= statuses[0]!.commitIndex && (view.members ?? []).filter((m) => m.appliedIndex >= applied).length === 3 ? true : undefined;
    }, 15_000);
    // Followers first, the leader last, the coordinator after them; each flushes its file on SIGTERM.
    for (const id of [1, 2, 3].filter((id) => id !== leader)) await stopGracefully(cluster.processes.get(id));
    await stopGracefully(cluster.processes.get(leader));
    await stopGracefully(coordinator);
    const bodies = await Promise.all(["member-1", "member-2", "member-3", "coordinator"].map((host) => readFile(traceLog(host), "utf8")));
    const merged = mergeLogs(bodies);
    expect(merged.startsWith(shivizFileHead())).toBe(true);
    events = parseEvents(merged.slice(shivizFileHead().length));
  }, 90_000);

  afterAll(async () => {
    coordinator?.kill("SIGKILL");
    await cluster?.stop();
  });

  const messages = (host: string): ParsedMessageEvent[] =>
    events.filter((e) => e.host === host).flatMap((e) => parseMessageEvent(e.event) ?? []);

  /** Sends of `kind` from `from` to `to` whose receive `to` recorded, with entries when `withEntries`. */
  const deliveredPairs = (kind: string, from: string, to: string, withEntries = false): string[] => {
    const received = new Set(messages(to).filter((m) => m.direction === "recv" && m.kind === kind && m.peer === from).map((m) => m.messageId));
    return messages(from)
      .filter((m) => m.direction === "send" && m.kind === kind && m.peer === to && received.has(m.messageId))
      .filter((m) => !withEntries || !/entries=0\b/.test(m.details ?? ""))
      .map((m) => m.messageId);
  };

  it("holds events of every member and the coordinator, whose clocks check out", () => {
    expect(new Set(events.map((e) => e.host))).toEqual(new Set(["member-1", "member-2", "member-3", "coordinator"]));
    expect(checkTrace(events)).toEqual([]);
  });

  it("shows the leader's appends reaching both followers, and their answers coming back, as send/receive pairs", () => {
    const leaderHost = `member-${leader}`;
    expect(events.some((e) => e.host === leaderHost && e.event.startsWith("became leader term="))).toBe(true);
    for (const follower of [1, 2, 3].filter((id) => id !== leader).map((id) => `member-${id}`)) {
      expect(deliveredPairs("App", leaderHost, follower, true).length, `App with entries from ${leaderHost} to ${follower}`).toBeGreaterThan(0);
      expect(deliveredPairs("AppResp", follower, leaderHost).length, `AppResp from ${follower} to ${leaderHost}`).toBeGreaterThan(0);
      expect(events.some((e) => e.host === follower && /^apply index=\d+/.test(e.event)), `${follower} applies`).toBe(true);
    }
  });

  it("shows each member's reports to the coordinator and the coordinator's answers as pairs", () => {
    for (const member of ["member-1", "member-2", "member-3"]) {
      const kinds = ["register", "heartbeat"];
      expect(kinds.some((kind) => deliveredPairs(kind, member, "coordinator").length > 0), `${member} → coordinator`).toBe(true);
      expect(kinds.some((kind) => deliveredPairs(`${kind}-answer`, "coordinator", member).length > 0), `coordinator → ${member}`).toBe(true);
    }
  });

  it("is caught by checkTrace when a receive's clock is planted below its send's", () => {
    const leaderHost = `member-${leader}`;
    const follower = `member-${leader === 1 ? 2 : 1}`;
    const [planted] = deliveredPairs("App", leaderHost, follower);
    const at = events.findIndex((e) => e.host === follower && parseMessageEvent(e.event)?.direction === "recv" && parseMessageEvent(e.event)?.messageId === planted);
    expect(at).toBeGreaterThanOrEqual(0);
    const original = events[at] as TraceEvent;
    const broken = [...events];
    broken[at] = { ...original, clock: { ...original.clock, [leaderHost]: 0 } };
    const problems = checkTrace(broken);
    expect(problems.some((p) => p.includes(`receive of ${planted}`) && p.includes("does not follow its send"))).toBe(true);
  });
});
