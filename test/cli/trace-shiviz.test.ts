import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkTrace, formatEvent, parseMessageEvent, type TraceEvent, VectorClockTracer } from "../../src/trace/index.js";
import { CLI } from "../support/process-cluster.js";
import { parseLikeShiviz } from "../support/shiviz-model.js";

/** Runs the built `kvraft` as a user would; it ends by itself (a deadline kills it if not). */
function kvraft(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Two hosts' logs as --trace-log writes them: a client's put to member-1, and member-1's reply. */
function twoHandMadeLogs(): { client: string; member: string } {
  let client = "";
  let member = "";
  const clientTracer = new VectorClockTracer("client-1", (text) => { client += text; });
  const memberTracer = new VectorClockTracer("member-1", (text) => { member += text; });
  const put = clientTracer.send({ kind: "put", to: "member-1", requestId: "r-1" });
  memberTracer.receive({ kind: "put", from: "client-1", stamp: put, requestId: "r-1" });
  memberTracer.local("apply index=5 req=r-1");
  const reply = memberTracer.send({ kind: "reply", to: "client-1", requestId: "r-1" });
  clientTracer.receive({ kind: "reply", from: "member-1", stamp: reply, requestId: "r-1" });
  return { client, member };
}

function pairs(events: readonly TraceEvent[]): number {
  const sends = new Set(events.map((e) => parseMessageEvent(e.event)).filter((m) => m?.direction === "send").map((m) => m?.messageId));
  return events.filter((e) => { const m = parseMessageEvent(e.event); return m?.direction === "recv" && sends.has(m.messageId); }).length;
}

describe("kvraft sim --shiviz and kvraft trace merge, as a user runs them", () => {
  let scratch: string;
  beforeAll(async () => { scratch = await mkdtemp(join(tmpdir(), "kvraft-trace-")); });
  afterAll(async () => { await rm(scratch, { recursive: true, force: true }); });

  it("sim --seed 7 --shiviz twice writes the same file; ShiViz's model reads it, its clocks check, members pair App messages and clients' requests are in it", async () => {
    const first = join(scratch, "seed7-a.shiviz");
    const second = join(scratch, "seed7-b.shiviz");
    for (const file of [first, second]) {
      const run = kvraft("sim", "--seed", "7", "--shiviz", file);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/shiviz: wrote \d+ events to .*seed7-.\.shiviz/);
    }
    const text = await readFile(first, "utf8");
    expect(await readFile(second, "utf8")).toBe(text);
    const events = parseLikeShiviz(text);
    expect(checkTrace(events)).toEqual([]);
    const appReceives = events.filter((e) => e.host.startsWith("member-") && /^recv App from=member-\d+ /.test(e.event));
    expect(appReceives.length).toBeGreaterThan(100);
    expect(pairs(events)).toBeGreaterThan(1000);
    expect(events.some((e) => e.host.startsWith("client-") && /^send (register|write|read) to=member-\d+ msg=\S+ req=\S+/.test(e.event))).toBe(true);
  });

  it("sim refuses --shiviz without --seed, or with --seeds, saying what to do", () => {
    const without = kvraft("sim", "--shiviz", join(scratch, "x.shiviz"));
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/--shiviz needs --seed S/);
    const many = kvraft("sim", "--seeds", "2", "--shiviz", join(scratch, "x.shiviz"));
    expect(many.code).toBe(2);
    expect(many.stderr).toMatch(/cannot be used with --seeds/);
  });

  it("trace merge joins two hand-made logs into a file ShiViz's model reads, with the put and its reply paired", async () => {
    const dir = join(scratch, "run1");
    await mkdir(dir);
    const { client, member } = twoHandMadeLogs();
    await writeFile(join(dir, "client-1.log"), client);
    await writeFile(join(dir, "member-1.log"), member);
    await writeFile(join(dir, "notes.txt"), "not a log: not read");
    const run = kvraft("trace", "merge", dir);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("merged 2 files: 2 hosts (client-1, member-1), 5 events, 2 of 2 messages paired with their receive\n");
    const events = parseLikeShiviz(run.stdout);
    expect(events).toHaveLength(5);
    expect(pairs(events)).toBe(2);
    expect(checkTrace(events)).toEqual([]);

    const output = join(dir, "merged.log");
    expect(kvraft("trace", "merge", dir, "-o", output).code).toBe(0);
    expect(kvraft("trace", "merge", dir, "-o", output).stderr).toMatch(/^merged 2 files/); // its own output in DIR is skipped
    expect(await readFile(output, "utf8")).toBe(run.stdout);
  });

  it("trace merge warns about a log missing from the run, and fails on it only with --strict", async () => {
    const dir = join(scratch, "run2");
    await mkdir(dir);
    await writeFile(join(dir, "member-1.log"), twoHandMadeLogs().member);
    const lenient = kvraft("trace", "merge", dir);
    expect(lenient.code).toBe(0);
    expect(lenient.stderr).toMatch(/warning: member-1 received client-1#1, which no host's trace sent/);
    expect(kvraft("trace", "merge", "--strict", dir).code).toBe(1);
  });

  it("trace merge says what is wrong with an empty dir, a missing dir and a garbage file (naming it)", async () => {
    const empty = join(scratch, "empty");
    await mkdir(empty);
    const none = kvraft("trace", "merge", empty);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/holds no \*\.log file: point it at the directory/);
    expect(kvraft("trace", "merge", join(scratch, "missing")).stderr).toMatch(/cannot read the directory .*missing/);
    const garbage = join(scratch, "garbage");
    await mkdir(garbage);
    await writeFile(join(garbage, "a.log"), formatEvent({ host: "a", clock: { a: 1 }, event: "fine" }));
    await writeFile(join(garbage, "b.log"), "member-2 {\"member-2\":1}\nlocal\nthis line is garbage\n");
    const bad = kvraft("trace", "merge", garbage);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/b\.log is not a trace log: line 3 is not a "HOST \{clock\}" line: "this line is garbage"/);
    expect(bad.stdout).toBe("");
  });

  it("trace merge --help teaches ShiViz: what it is, where it is, how to open the file", () => {
    const help = kvraft("trace", "merge", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/space-time diagram/);
    expect(help.stdout).toContain("https://bestchai.bitbucket.io/shiviz/");
    expect(help.stdout).toMatch(/"Try out ShiViz", and upload the file/);
  });
});
