import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FrameWriter } from "../../src/cli/frame-writer.js";
import { followedLines } from "../../src/cli/status-watch-view.js";
import type { RunningCoordinator } from "../../src/coord/index.js";
import { startCoordinator } from "../../src/coord/index.js";
import { freePorts } from "../support/ports.js";
import { CLI, ProcessCluster } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";
import { configuration, heartbeatOf } from "../coord/fixtures.js";

/** `kvraft status --watch` run as a user runs it (the built CLI), its stdout a pipe; stopped with SIGINT. */
class WatchRun {
  output = "";
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(args: readonly string[], cwd: string) {
    this.child = spawn(process.execPath, [CLI, "status", "--watch", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [this.child.stdout, this.child.stderr]) stream?.on("data", (chunk: Buffer) => { this.output += chunk.toString("utf8"); });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }

  shows(text: string, timeoutMs = 10_000): Promise<true> {
    return waitFor(`the watch to print "${text}" (so far:\n${this.output.slice(-1500)})`, () => (this.output.includes(text) ? true : undefined), timeoutMs, 20);
  }

  interrupt(): void {
    this.child.kill("SIGINT");
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

/** How long Ctrl-C may take to end the watch. */
const STOP_MS_MAX = 3000;

describe("kvraft status --watch", () => {
  let dir: string;
  let coordinator: RunningCoordinator | undefined;
  let cluster: ProcessCluster | undefined;
  const runs: WatchRun[] = [];
  const watch = (args: readonly string[]): WatchRun => {
    const run = new WatchRun(args, dir);
    runs.push(run);
    return run;
  };
  const report = (body: unknown): Promise<Response> =>
    fetch(`${coordinator?.url}/v1/heartbeat`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const stopsOnCtrlC = async (run: WatchRun): Promise<void> => {
    run.interrupt();
    const code = await Promise.race([run.exited, new Promise<string>((resolve) => setTimeout(() => resolve("still running"), STOP_MS_MAX))]);
    expect(code, run.output.slice(-500)).toBe(0);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kvraft-status-watch-"));
  });
  afterEach(async () => {
    for (const run of runs.splice(0)) run.kill();
    await coordinator?.stop();
    coordinator = undefined;
  });
  afterAll(async () => {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("follows the coordinator's stream: the leader, a new leader at once, a lost stream shown; Ctrl-C exits 0", async () => {
    coordinator = await startCoordinator({ host: "127.0.0.1", port: 0 });
    await report(heartbeatOf(1, { role: "leader", term: 2, members: configuration([[1, "voter", 0], [2, "voter", 0]]) }));
    await report(heartbeatOf(2, { term: 2, leaderId: 1 }));
    const run = watch(["--coord", coordinator.url]);
    await run.shows(`following the coordinator ${coordinator.url}: live`);
    await run.shows("leader m1 in term 2");
    expect(run.output).toMatch(/^\s*\*\s+m1\s+leader\s+voter\s+2\b/m);
    await report(heartbeatOf(2, { role: "leader", term: 3, leaderId: 2, members: configuration([[1, "voter", 0], [2, "voter", 0]]) }));
    await run.shows("cluster c0ffee00-0000-4000-8000-000000000001: leader m2 in term 3");
    expect(run.output).toMatch(/m1\s+leader \(older term\)/);
    // Into a pipe, a frame is appended only when the view changed, not at every refresh.
    const frames = run.output.split("\n--- ").length;
    expect(frames).toBeLessThan(8);
    await coordinator.stop();
    coordinator = undefined;
    await run.shows("disconnected (");
    await stopsOnCtrlC(run);
  });

  it("polls the members when no coordinator is known (--endpoints), and says so", async () => {
    cluster = await ProcessCluster.create(3);
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    const run = watch(["--endpoints", [1, 2, 3].map((id) => (cluster as ProcessCluster).http(id)).join(","), "--interval", "200"]);
    await run.shows("polling the members every 200 ms (no coordinator known)");
    await run.shows(`view of leader ${leader}`);
    await stopsOnCtrlC(run);
  }, 60_000);

  it("a coordinator at its stream limit (kvraft coord --stream-subscribers-max 0) is shown as refusing, and retried", async () => {
    const [port] = (await freePorts(1)) as [number];
    const coord = spawn(process.execPath, [CLI, "coord", "--port", String(port), "--stream-subscribers-max", "0", "--log-level", "warn"], { stdio: "ignore" });
    const exited = new Promise((resolve) => coord.once("exit", resolve));
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitFor("the coordinator's /healthz", async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true ? true : undefined));
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      const run = watch(["--coord", url]);
      await run.shows("disconnected (the coordinator serves as many streams as it may (streamSubscribersMax)); reconnecting");
      await stopsOnCtrlC(run);
    } finally {
      coord.kill("SIGKILL");
      await exited;
    }
  });

  it("on a terminal (script(1) gives it a pty) redraws the view in place", async () => {
    coordinator = await startCoordinator({ host: "127.0.0.1", port: 0 });
    await report(heartbeatOf(1, { role: "leader", term: 4 }));
    // `exec`: script(1) runs the command through $SHELL -c, and a shell that stays as the
    // watch's parent (dash, when SHELL is unset as on CI) is killed by the same Ctrl-C (exit 130).
    const command = `exec ${[process.execPath, CLI, "status", "--watch", "--coord", coordinator.url].map((arg) => `'${arg}'`).join(" ")}`;
    const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: dir, stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => { output += chunk.toString("utf8"); });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      // The stream resends an unchanged view every streamRefreshMs (ages move): two redraws.
      await waitFor("two frames drawn in place", () => (output.split("\u001b[H\u001b[2J").length > 2 ? true : undefined), 10_000, 20);
      expect(output).toContain("leader m1 in term 4");
      expect(output).not.toContain("\n--- ");
      child.stdin.write("\u0003");
      const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve("still running"), STOP_MS_MAX))]);
      expect(code, `script(1) exit ${String(code)}; the watch printed:\n${output.slice(-800)}`).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });

  it("refuses --output json with --watch (exit 2)", async () => {
    const run = watch(["--coord", "http://127.0.0.1:1", "--output", "json"]);
    expect(await run.exited).toBe(2);
    expect(run.output).toContain("--watch draws a table");
  });
});

describe("status --watch frames", () => {
  it("on a TTY every frame is redrawn in place; into a pipe only a changed one is appended", () => {
    const written: string[] = [];
    const tty = new FrameWriter({ isTTY: true, write: (text: string) => written.push(text) });
    tty.draw(["a"], "k");
    tty.draw(["a"], "k");
    expect(written).toEqual(["\u001b[H\u001b[2Ja\n", "\u001b[H\u001b[2Ja\n"]);
    written.length = 0;
    const pipe = new FrameWriter({ isTTY: false, write: (text: string) => written.push(text) }, () => new Date(0));
    pipe.draw(["a 1.0 s ago"], "k1");
    pipe.draw(["a 2.0 s ago"], "k1");
    pipe.draw(["b"], "k2");
    expect(written).toEqual(["--- 1970-01-01T00:00:00.000Z\na 1.0 s ago\n", "--- 1970-01-01T00:00:00.000Z\nb\n"]);
  });

  it("says when no member has reported yet", () => {
    expect(followedLines({ clusters: [], history: [], connection: "live" }, "http://c")).toEqual(["following the coordinator http://c: live", "", "no member has reported to this coordinator yet"]);
  });
});
