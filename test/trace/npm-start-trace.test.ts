import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/index.js";
import type { ClusterFile } from "../../src/local/cluster-file.js";
import {
  checkTrace, clockLessOrEqual, parseMessageEvent, type ParsedMessageEvent, type TraceEvent, VectorClockTracer,
} from "../../src/trace/index.js";
import { LocalRun } from "../local/local-run.js";
import { freeBasePort } from "../local/base-port.js";
import { parseLikeShiviz } from "../support/shiviz-model.js";
import { CLI } from "../support/process-cluster.js";

/**
 * Issue 18's done-criterion for traces, as a user runs it: `kvraft local --trace-dir`
 * (what `npm start -- --trace-dir DIR` runs), puts through each protocol (the CLI over
 * HTTP, the client library over the binary protocol, memcached over TLS), a clean stop,
 * `kvraft trace merge` on the directory; the merged file reads as ShiViz reads it, its
 * clocks check out, and the client library's put can be followed from the client to the
 * leader, out to the followers and back, to its apply and its reply, each step after
 * the one before it in the clocks' order.
 */
describe("kvraft local --trace-dir, puts through every protocol, kvraft trace merge", () => {
  let dir: string;
  let run: LocalRun | undefined;
  let events: TraceEvent[] = [];
  let file: ClusterFile;

  const cli = (args: readonly string[]): Promise<string> => new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { cwd: dir, timeout: 30_000 }, (error, stdout, stderr) => (error === null ? resolve(stdout) : reject(new Error(`kvraft ${args.join(" ")}: ${stderr}`))));
  });
  const shell = (line: string): Promise<string> => new Promise((resolve, reject) => {
    execFile("sh", ["-c", line], { cwd: dir, timeout: 15_000 }, (error, stdout) => (error === null ? resolve(stdout) : reject(new Error(`${line}: ${error.message}`))));
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kvraft-trace-local-"));
    const traceDir = join(dir, "trace");
    run = new LocalRun(["--cluster-dir", join(dir, "cluster"), "--base-port", String(await freeBasePort()), "--trace-dir", traceDir], dir);
    await run.waitForLine("the banner", /^Try it from another terminal:/, 60_000);
    file = JSON.parse(await readFile(join(dir, "cluster", "cluster.json"), "utf8")) as ClusterFile;
    const security = file.security as NonNullable<ClusterFile["security"]>;

    // The CLI (HTTP), with its own trace log.
    await cli(["put", "cli-key", "from the cli", "--cluster-dir", "cluster", "--trace-log", join(traceDir, "client-cli.log")]);
    // The client library (binary protocol), traced into a log of its own.
    const lines: string[] = [];
    const client = createClient({
      endpoints: file.members.map((m) => m.client), tls: { ca: await readFile(security.caFile, "utf8") },
      token: (await readFile(security.tokenFile, "utf8")).trim(), deadlineMs: 15_000,
      tracer: new VectorClockTracer("client-lib", (event) => lines.push(event)),
    });
    try {
      await client.put("binary-key", "from the client library");
    } finally {
      await client.close();
    }
    await writeFile(join(traceDir, "client-lib.log"), lines.join(""));
    // memcached over TLS, authenticated as its text protocol allows (a set of the token).
    const member = file.members[0] as ClusterFile["members"][number];
    const tokenChars = (await readFile(security.tokenFile, "utf8")).trim().length;
    const reply = await shell(`printf 'set auth 0 0 ${tokenChars}\\r\\n%s\\r\\nset mc-key 0 0 2\\r\\nmc\\r\\nquit\\r\\n' "$(cat ${security.tokenFile})" | openssl s_client -quiet -CAfile ${security.caFile} -connect ${member.memcached} 2>/dev/null`);
    expect(reply).toContain("STORED\r\nSTORED\r\n");

    // A clean stop flushes every process's trace log.
    run.signal("SIGINT");
    await run.exited;
    await cli(["trace", "merge", traceDir, "-o", join(dir, "merged.shiviz")]);
    events = parseLikeShiviz(await readFile(join(dir, "merged.shiviz"), "utf8"));
  }, 150_000);

  afterAll(async () => {
    await run?.killEverything();
    await rm(dir, { recursive: true, force: true });
  });

  const messagesOf = (host: string): (ParsedMessageEvent & { clock: TraceEvent["clock"] })[] =>
    events.filter((e) => e.host === host).flatMap((e) => {
      const message = parseMessageEvent(e.event);
      return message === undefined ? [] : [{ ...message, clock: e.clock }];
    });
  const only = <T>(found: readonly T[], what: string): T => {
    expect(found.length, what).toBeGreaterThan(0);
    return found[0] as T;
  };

  it("opens as ShiViz opens it, with every process's events and clocks that check out", () => {
    const hosts = new Set(events.map((e) => e.host));
    for (const host of ["member-1", "member-2", "member-3", "coordinator", "client-lib"]) expect(hosts.has(host), host).toBe(true);
    expect([...hosts].some((host) => /^client-\d+$/.test(host)), "the CLI's host").toBe(true);
    expect(checkTrace(events)).toEqual([]);
  });

  it("follows the client library's put: client → leader → both followers → leader → apply → reply → client", () => {
    // The put's attempts share its request id; the first may reach a follower that redirects
    // the client, so the leader is the member that applied the entry with that id.
    const requestId = only(messagesOf("client-lib").filter((m) => m.direction === "send" && m.kind === "put"), "the client's put").requestId as string;
    const apply = only(events.filter((e) => e.host.startsWith("member-") && e.event.startsWith("apply ") && e.event.includes(`req=${requestId}`)), "an apply with the put's request id");
    const leader = apply.host;
    const received = (e: TraceEvent): ParsedMessageEvent | undefined => {
      const m = parseMessageEvent(e.event);
      return m?.direction === "recv" ? m : undefined;
    };
    const leaderRecv = only(events.filter((e) => e.host === leader && received(e)?.requestId === requestId && received(e)?.peer === "client-lib"), "the leader's receive of the put");
    const sent = only(messagesOf("client-lib").filter((m) => m.direction === "send" && m.messageId === received(leaderRecv)?.messageId), "the client's send the leader received");
    expect(clockLessOrEqual(sent.clock, leaderRecv.clock)).toBe(true);
    const index = Number(/index=(\d+)/.exec(apply.event)?.[1]);
    const followers = ["member-1", "member-2", "member-3"].filter((host) => host !== leader);
    // The appends that carried the entry to each follower. Both followers get it in an
    // idle run; a majority (one follower of two) is what Raft needs, and a follower that a
    // loaded machine left behind may get it only after the stop.
    const appendsTo = (follower: string): (ParsedMessageEvent & { clock: TraceEvent["clock"] })[] => messagesOf(leader).filter((m) => {
      const range = /index=(\d+)\.\.(\d+)/.exec(m.details ?? "");
      return m.direction === "send" && m.kind === "App" && m.peer === follower && range !== null && Number(range[1]) <= index && index <= Number(range[2]);
    });
    const reached = followers.filter((follower) => appendsTo(follower).length > 0);
    expect(reached.length, `no App carried index ${index} to a follower`).toBeGreaterThan(0);
    for (const follower of reached) {
      // The append after the write arrived; its receive; the answer back.
      const append = appendsTo(follower)[0] as ParsedMessageEvent & { clock: TraceEvent["clock"] };
      expect(clockLessOrEqual(leaderRecv.clock, append.clock)).toBe(true);
      const received = only(messagesOf(follower).filter((m) => m.direction === "recv" && m.messageId === append.messageId), `${follower}'s receive of it`);
      expect(clockLessOrEqual(append.clock, received.clock)).toBe(true);
      const answer = messagesOf(follower).find((m) => m.direction === "send" && m.kind === "AppResp" && clockLessOrEqual(received.clock, m.clock));
      expect(answer, `${follower}'s AppResp`).toBeDefined();
      expect(messagesOf(leader).some((m) => m.direction === "recv" && m.messageId === answer?.messageId), `the leader hears ${follower}'s answer`).toBe(true);
    }
    // A majority acknowledged before the apply: at least one follower's answer precedes it in the clocks.
    const answersBeforeApply = followers.filter((follower) => messagesOf(leader).some((m) =>
      m.direction === "recv" && m.kind === "AppResp" && m.peer === follower && clockLessOrEqual(leaderRecv.clock, m.clock) && clockLessOrEqual(m.clock, apply.clock)));
    expect(answersBeforeApply.length).toBeGreaterThan(0);
    const replied = only(messagesOf(leader).filter((m) => m.direction === "send" && m.peer === "client-lib" && m.requestId === requestId), "the leader's reply");
    expect(clockLessOrEqual(apply.clock, replied.clock)).toBe(true);
    const back = only(messagesOf("client-lib").filter((m) => m.direction === "recv" && m.messageId === replied.messageId), "the client's receive of the reply");
    expect(clockLessOrEqual(replied.clock, back.clock)).toBe(true);
  });

  it("shows the CLI's HTTP put and the memcached set arriving at members with their request ids", () => {
    const cliHost = only([...new Set(events.map((e) => e.host))].filter((host) => /^client-\d+$/.test(host)), "the CLI's host");
    const cliSend = only(messagesOf(cliHost).filter((m) => m.direction === "send"), "the CLI's request");
    expect(events.some((e) => e.host.startsWith("member-") && parseMessageEvent(e.event)?.messageId === cliSend.messageId), "a member received the CLI's request").toBe(true);
    expect(events.some((e) => e.host.startsWith("member-") && /^request set from=memcached-client@\S+ req=\S+/.test(e.event)), "a member recorded the memcached set").toBe(true);
  });
});
