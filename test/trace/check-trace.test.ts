import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkTrace, formatEvent, mergeLogs, parseEvents, type TraceEvent, type TraceStamp, VectorClockTracer,
} from "../../src/trace/index.js";
import { parseLikeShiviz } from "../support/shiviz-model.js";

/** a sends to b, b applies, b replies, a receives: a sound trace. */
function soundTrace(): TraceEvent[] {
  const lines: string[] = [];
  const a = new VectorClockTracer("a", (text) => lines.push(text));
  const b = new VectorClockTracer("b", (text) => lines.push(text));
  const request = a.send({ kind: "put", to: "b", requestId: "r-1" });
  b.receive({ kind: "put", from: "a", stamp: request, requestId: "r-1" });
  b.local("apply index=2 req=r-1");
  const reply = b.send({ kind: "reply", to: "a", requestId: "r-1" });
  a.receive({ kind: "reply", from: "b", stamp: reply, requestId: "r-1" });
  return parseEvents(lines.join(""));
}

function withEvent(events: TraceEvent[], index: number, change: Partial<TraceEvent>): TraceEvent[] {
  return events.map((event, i) => (i === index ? { ...event, ...change } : event));
}

describe("checkTrace", () => {
  it("passes a sound trace (which ShiViz's model also accepts)", () => {
    const events = soundTrace();
    expect(events.map((e) => e.event)).toEqual([
      "send put to=b msg=a#1 req=r-1", "recv put from=a msg=a#1 req=r-1", "apply index=2 req=r-1",
      "send reply to=a msg=b#3 req=r-1", "recv reply from=b msg=b#3 req=r-1",
    ]);
    expect(checkTrace(events)).toEqual([]);
    expect(parseLikeShiviz(mergeLogs(events.map(formatEvent)))).toHaveLength(5);
  });

  it("plant: catches a receive whose clock does not dominate its send", () => {
    const events = withEvent(soundTrace(), 1, { clock: { b: 1 } });
    expect(checkTrace(events)).toEqual([expect.stringMatching(/b's receive of a#1 \{"b":1\} does not follow its send \{"a":1\}/)]);
  });

  it("plant: catches an own count that skips", () => {
    const events = withEvent(soundTrace(), 2, { clock: { b: 3, a: 1 } });
    expect(checkTrace(events)).toContainEqual(expect.stringMatching(/b.s event "apply index=2 req=r-1" has its own count 3, expected 2/));
  });

  it("plant: catches a clock that goes back", () => {
    const events = withEvent(soundTrace(), 2, { clock: { b: 2 } });
    expect(checkTrace(events)).toContainEqual(expect.stringMatching(/b's clock went back at "apply index=2 req=r-1"/));
  });

  it("plant: catches a receive of a message no host sent", () => {
    const events = withEvent(soundTrace(), 1, { event: "recv put from=a msg=a#9" });
    expect(checkTrace(events)).toEqual(["b received a#9, which no host's trace sent"]);
  });

  it("plant: catches a clock naming an event not in the trace (a host's log missing from the merge)", () => {
    const withoutA = soundTrace().filter((e) => e.host !== "a");
    expect(checkTrace(withoutA)).toContainEqual(expect.stringMatching(/knows a's event 1, but the trace has 0 events of a/));
  });

  it("reports at most problemsMax problems", () => {
    const broken = soundTrace().map((e) => ({ ...e, clock: { [e.host]: 7 } }));
    expect(checkTrace(broken, 2)).toHaveLength(2);
  });
});

const HOSTS_MAX = 6;

/** One step of a random exchange: a local event, a send, or the delivery of an in-flight message (maybe twice, maybe never). */
const stepArbitrary = fc.oneof(
  fc.record({ kind: fc.constant("local" as const), host: fc.nat(HOSTS_MAX - 1) }),
  fc.record({ kind: fc.constant("send" as const), host: fc.nat(HOSTS_MAX - 1), to: fc.nat(HOSTS_MAX - 1) }),
  fc.record({ kind: fc.constant("deliver" as const), pick: fc.nat(), keep: fc.boolean() }),
);

describe("checkTrace on random exchanges", () => {
  it("property: any exchange among N hosts traced with VectorClockTracer passes, and ShiViz's model accepts it", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: HOSTS_MAX }), fc.array(stepArbitrary, { minLength: 1, maxLength: 120 }), (hosts, steps) => {
      const lines: string[] = [];
      const tracers = Array.from({ length: hosts }, (_, i) => new VectorClockTracer(`h${i}`, (text) => lines.push(text)));
      const inFlight: { to: number; from: number; stamp: TraceStamp }[] = [];
      for (const step of steps) {
        if (step.kind === "local") tracers[step.host % hosts]?.local("tick");
        else if (step.kind === "send") {
          const from = step.host % hosts;
          const to = step.to % hosts;
          inFlight.push({ from, to, stamp: tracers[from]!.send({ kind: "m", to: `h${to}` }) });
        } else if (inFlight.length > 0) {
          const at = step.pick % inFlight.length;
          const message = inFlight[at]!;
          if (!step.keep) inFlight.splice(at, 1); // kept: delivered again later (a duplicate)
          tracers[message.to]!.receive({ kind: "m", from: `h${message.from}`, stamp: message.stamp });
        }
      }
      if (lines.length === 0) return;
      const events = parseEvents(lines.join(""));
      expect(checkTrace(events)).toEqual([]);
      expect(parseLikeShiviz(mergeLogs(lines))).toHaveLength(events.length);
    }), { numRuns: 300 });
  });
});
