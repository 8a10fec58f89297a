import { describe, expect, it } from "vitest";
import { SimShivizTrace, SHIVIZ_EVENTS_MAX_LIMIT } from "../../src/sim/core/shiviz-trace.js";
import { Simulation } from "../../src/sim/core/simulation.js";
import { checkTrace, parseEvents, parseMessageEvent, shivizFileHead } from "../../src/trace/index.js";
import { parseLikeShiviz } from "../support/shiviz-model.js";

async function tracedRun(seed: number, eventsMax = 200_000): Promise<{ text: string; stats: Simulation["stats"] }> {
  const sim = new Simulation({ seed, shivizEventsMax: eventsMax });
  await sim.run();
  return { text: sim.shiviz.fileText(), stats: sim.stats };
}

describe("the simulator's ShiViz trace", () => {
  it("is sound: ShiViz's model reads it, checkTrace finds nothing, and it draws members' App pairs and clients' requests", async () => {
    const { text } = await tracedRun(7);
    const events = parseLikeShiviz(text);
    expect(checkTrace(parseEvents(text.slice(shivizFileHead().length)))).toEqual([]);
    const messages = events.map((e) => ({ host: e.host, message: parseMessageEvent(e.event) }));
    const appSends = new Set(messages.filter((m) => m.message?.direction === "send" && m.message.kind === "App").map((m) => m.message?.messageId));
    const appPairs = messages.filter((m) => m.message?.direction === "recv" && m.message.kind === "App" && appSends.has(m.message.messageId));
    expect(appPairs.length).toBeGreaterThan(100);
    expect(appPairs.every((m) => m.host.startsWith("member-") && m.message?.peer.startsWith("member-"))).toBe(true);
    const requests = messages.filter((m) => m.host.startsWith("client-") && m.message?.direction === "send" && m.message.requestId !== undefined);
    expect(requests.length).toBeGreaterThan(50);
    const replies = messages.filter((m) => m.host.startsWith("client-") && m.message?.direction === "recv" && m.message.kind === "reply");
    expect(replies.length).toBeGreaterThan(50);
    expect(events.some((e) => /^elected term=\d+/.test(e.event))).toBe(true);
    expect(events.some((e) => /^apply index=\d+ term=\d+ req=\S+/.test(e.event))).toBe(true);
  });

  it("is deterministic, and tracing does not change the run", async () => {
    const first = await tracedRun(7);
    const second = await tracedRun(7);
    expect(second.text).toBe(first.text);
    const untraced = new Simulation({ seed: 7 });
    await untraced.run();
    expect(untraced.stats).toEqual(first.stats);
    expect(untraced.shiviz.enabled).toBe(false);
    expect(untraced.shiviz.eventCount).toBe(0);
  });

  it("stops at its bound with a last event saying so, and stays sound", async () => {
    const { text } = await tracedRun(7, 500);
    const events = parseLikeShiviz(text);
    expect(events).toHaveLength(501);
    expect(events.at(-1)).toEqual({ host: "sim", clock: { sim: 1 }, event: expect.stringMatching(/^trace stopped after 500 events/) });
    expect(checkTrace(events)).toEqual([]);
  });

  it("validates its bound", () => {
    expect(() => new SimShivizTrace(0)).toThrow(/1 to/);
    expect(() => new SimShivizTrace(SHIVIZ_EVENTS_MAX_LIMIT + 1)).toThrow(RangeError);
  });
});
