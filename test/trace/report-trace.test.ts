import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningCoordinator, startCoordinator } from "../../src/coord/index.js";
import { startCoordReporter } from "../../src/server/coord-reporter.js";
import {
  checkTrace, CLOCK_HOSTS_MAX, parseEvents, parseMessageEvent, stampToText, TRACE_STAMP_HEADER, type TraceEvent, VectorClockTracer,
} from "../../src/trace/index.js";
import { waitFor } from "../support/wait.js";
import { heartbeatOf } from "../coord/fixtures.js";

/**
 * A member's reports to the coordinator, traced on both sides: the report carries the
 * member's stamp in TRACE_STAMP_HEADER, the answer the coordinator's. The coordinator
 * takes stamps from the network, so bad ones must cost nothing but the stamp.
 */
describe("traced reports to the coordinator", () => {
  let dir: string | undefined;
  let coordinator: RunningCoordinator | undefined;
  const stops: (() => void)[] = [];

  afterEach(async () => {
    for (const stop of stops.splice(0)) stop();
    await coordinator?.stop();
    coordinator = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const start = async (): Promise<string> => {
    dir = await mkdtemp(join(tmpdir(), "kvraft-report-trace-"));
    const traceLog = join(dir, "coordinator.log");
    coordinator = await startCoordinator({ host: "127.0.0.1", port: 0, traceLog });
    return traceLog;
  };
  const report = (stampText: string, id = 2): Promise<Response> => fetch(`${coordinator?.url}/v1/heartbeat`, {
    method: "POST", headers: { "content-type": "application/json", [TRACE_STAMP_HEADER]: stampText }, body: JSON.stringify(heartbeatOf(id)),
  });

  it("pairs each report with its receive and each answer with its receive, on clocks that check out", async () => {
    const traceLog = await start();
    const memberEvents: string[] = [];
    const tracer = new VectorClockTracer("member-1", (event) => memberEvents.push(event));
    const reporter = startCoordReporter({ coordinatorUrl: coordinator?.url ?? "", intervalMs: 20, clusterId: heartbeatOf(1).clusterId, status: () => heartbeatOf(1).status, tracer });
    stops.push(() => reporter.stop());
    await waitFor("a register and two heartbeat answers at the member", async () => (memberEvents.filter((e) => e.includes("recv heartbeat-answer")).length >= 2 ? true : undefined));
    reporter.stop();
    await coordinator?.stop();
    const events = [...parseEvents(await readFile(traceLog, "utf8")), ...parseEvents(memberEvents.join(""))];
    expect(checkTrace(events)).toEqual([]);
    const ids = (host: string, direction: "send" | "recv", kind: string): string[] => events
      .filter((e) => e.host === host).flatMap((e) => parseMessageEvent(e.event) ?? []).filter((m) => m.direction === direction && m.kind === kind).map((m) => m.messageId);
    expect(ids("coordinator", "recv", "register")).toEqual(ids("member-1", "send", "register"));
    expect(ids("member-1", "recv", "register-answer")).toEqual(ids("coordinator", "send", "register-answer"));
    expect(ids("member-1", "recv", "heartbeat-answer").length).toBeGreaterThanOrEqual(2);
  });

  it("serves reports whose stamps are bad as usual, recording them without a clock merge", async () => {
    const traceLog = await start();
    const tooManyHosts = { m: "member-2#1", c: Object.fromEntries(Array.from({ length: CLOCK_HOSTS_MAX }, (_, i) => [`h${i}`, 1])) };
    const ownCountAhead = { m: "member-2#1", c: { "member-2": 1, coordinator: 1_000_000 } };
    for (const stampText of ["{not json", JSON.stringify(tooManyHosts), JSON.stringify(ownCountAhead)]) {
      const response = await report(stampText);
      expect(response.status).toBe(200);
      expect(response.headers.get(TRACE_STAMP_HEADER)).not.toBeNull();
    }
    // The clock is still good for the next, sound report.
    const sender = new VectorClockTracer("member-3", () => undefined);
    const sent = sender.send({ kind: "heartbeat", to: "coordinator" });
    expect((await report(stampToText(sent), 3)).status).toBe(200);
    await coordinator?.stop();
    const events: TraceEvent[] = parseEvents(await readFile(traceLog, "utf8"));
    const received = events.filter((e) => /^(recv|request) heartbeat /.test(e.event));
    expect(received.map((e) => e.event.split(" ").slice(0, 3).join(" "))).toEqual([
      "request heartbeat from=member-2", "request heartbeat from=member-2", "recv heartbeat from=member-2", "recv heartbeat from=member-3",
    ]);
    // The stamp's count for the coordinator itself is not taken: its own count still grows by one per event.
    expect(events.map((e) => e.clock["coordinator"])).toEqual(events.map((_, i) => i + 1));
    // The over-limit stamp left no host behind.
    expect(Object.keys(events[events.length - 1]?.clock ?? {}).sort()).toEqual(["coordinator", "member-2", "member-3"]);
  });
});
