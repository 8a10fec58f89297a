import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openProcessTrace, TRACE_FILE_BUFFERED_EVENTS_BOUNDS, TraceFile } from "../../src/trace-file.js";
import { checkTrace, NO_TRACE, parseEvents } from "../../src/trace/index.js";

const event = (n: number): string => `h {"h":${n}}\nevent ${n}\n`;

describe("the trace file sink (--trace-log)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "kvraft-trace-file-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes every event, in order, once closed", async () => {
    const path = join(dir, "a.log");
    const file = await TraceFile.open(path);
    for (let n = 1; n <= 500; n++) file.append(event(n));
    expect(await file.close()).toEqual({ writtenEvents: 500, droppedEvents: 0 });
    const events = parseEvents(await readFile(path, "utf8"));
    expect(events.map((e) => e.event)).toEqual(Array.from({ length: 500 }, (_, i) => `event ${i + 1}`));
  });

  it("holds at most bufferedEventsMax while a write is under way, dropping and counting the rest", async () => {
    const path = join(dir, "bounded.log");
    const file = await TraceFile.open(path, { bufferedEventsMax: 3 });
    // One synchronous burst: the first event starts the write, three wait, six find the buffer full.
    for (let n = 1; n <= 10; n++) file.append(event(n));
    expect(file.stats().droppedEvents).toBe(6);
    expect(await file.close()).toEqual({ writtenEvents: 4, droppedEvents: 6 });
    expect(parseEvents(await readFile(path, "utf8")).map((e) => e.event)).toEqual(["event 1", "event 2", "event 3", "event 4"]);
  });

  it("flushes on close what was appended just before, and drops what comes after", async () => {
    const path = join(dir, "flush.log");
    const file = await TraceFile.open(path);
    file.append(event(1));
    const closing = file.close();
    file.append(event(2));
    expect(await closing).toEqual({ writtenEvents: 1, droppedEvents: 1 });
    expect(await readFile(path, "utf8")).toBe(event(1));
  });

  it("truncates the file at open: a restarted process starts a new trace", async () => {
    const path = join(dir, "again.log");
    const first = await TraceFile.open(path);
    first.append(event(1));
    await first.close();
    const second = await TraceFile.open(path);
    await second.close();
    expect(await readFile(path, "utf8")).toBe("");
  });

  it("refuses a limit out of its bounds and a path it cannot write, saying which", async () => {
    await expect(TraceFile.open(join(dir, "x.log"), { bufferedEventsMax: 0 })).rejects.toThrow(`bufferedEventsMax must be an integer in [${TRACE_FILE_BUFFERED_EVENTS_BOUNDS[0]}, ${TRACE_FILE_BUFFERED_EVENTS_BOUNDS[1]}], got 0`);
    await expect(TraceFile.open(join(dir, "no-such-dir", "x.log"))).rejects.toThrow(/--trace-log .*no-such-dir.* cannot be opened/);
  });

  it("gives a process NO_TRACE without a path, and a tracer whose events check out with one", async () => {
    expect((await openProcessTrace(undefined, "member-1")).tracer).toBe(NO_TRACE);
    const path = join(dir, "member-1.log");
    const trace = await openProcessTrace(path, "member-1");
    trace.tracer.local("became leader term=2");
    trace.tracer.send({ kind: "App", to: "member-2" });
    expect(await trace.close()).toEqual({ writtenEvents: 2, droppedEvents: 0 });
    const events = parseEvents(await readFile(path, "utf8"));
    expect(events.map((e) => [e.host, e.clock["member-1"]])).toEqual([["member-1", 1], ["member-1", 2]]);
    expect(checkTrace(events)).toEqual([]);
  });
});
