import { describe, expect, it } from "vitest";
import {
  CLOCK_HOSTS_MAX, checkClock, clockLessOrEqual, HOST_NAME_CHARS_MAX, VectorClock, VectorClockError,
} from "../../src/trace/index.js";

describe("vector clocks", () => {
  it("tick: the host's own count grows by one per event, starting at 1", () => {
    const clock = new VectorClock("a");
    expect(clock.entries()).toEqual({ a: 0 });
    expect(clock.tick()).toEqual({ a: 1 });
    expect(clock.tick()).toEqual({ a: 2 });
  });

  it("receive: the elementwise maximum then a tick, so it dominates the send and every earlier event", () => {
    const a = new VectorClock("a");
    const b = new VectorClock("b");
    a.tick();
    const sent = a.tick();
    const before = b.tick();
    const received = b.receive(sent);
    expect(received).toEqual({ b: 2, a: 2 });
    expect(clockLessOrEqual(sent, received)).toBe(true);
    expect(clockLessOrEqual(before, received)).toBe(true);
    expect(clockLessOrEqual(received, sent)).toBe(false);
  });

  it("receive keeps the larger count of a host it already knows", () => {
    const c = new VectorClock("c");
    c.receive({ a: 5 });
    expect(c.receive({ a: 3, b: 1 })).toEqual({ c: 2, a: 5, b: 1 });
  });

  it("returns copies: a clock handed out does not change under later events", () => {
    const a = new VectorClock("a");
    const first = a.tick();
    a.tick();
    expect(first).toEqual({ a: 1 });
  });

  it(`refuses a receive that would make it name more than ${CLOCK_HOSTS_MAX} hosts`, () => {
    const many: Record<string, number> = {};
    for (let i = 0; i < CLOCK_HOSTS_MAX; i++) many[`h${i}`] = 1;
    const clock = new VectorClock("me");
    expect(() => clock.receive(many)).toThrow(/257 hosts, more than 256/);
    expect(clock.tick()).toEqual({ me: 1 }); // the refused stamp left nothing behind
    delete many["h0"];
    expect(Object.keys(clock.receive(many))).toHaveLength(CLOCK_HOSTS_MAX);
  });

  it("refuses host names ShiViz cannot split from the clock", () => {
    expect(() => new VectorClock("")).toThrow(VectorClockError);
    expect(() => new VectorClock("two words")).toThrow(/without spaces/);
    expect(() => new VectorClock("x".repeat(HOST_NAME_CHARS_MAX + 1))).toThrow(VectorClockError);
    expect(new VectorClock("x".repeat(HOST_NAME_CHARS_MAX)).host).toHaveLength(HOST_NAME_CHARS_MAX);
  });
});

describe("checkClock: clocks from elsewhere are validated", () => {
  it("accepts an object of host to non-negative whole counts", () => {
    expect(checkClock({ a: 1, b: 0 })).toEqual({ a: 1, b: 0 });
  });

  it.each([
    ["null", null],
    ["an array", [1, 2]],
    ["a string", "a:1"],
    ["a negative count", { a: -1 }],
    ["a fractional count", { a: 1.5 }],
    ["a count past the safe integers", { a: 2 ** 60 }],
    ["a string count", { a: "1" }],
    ["a host with a space", { "a b": 1 }],
    ["an empty host", { "": 1 }],
  ])("refuses %s", (_name, value) => {
    expect(() => checkClock(value)).toThrow(VectorClockError);
  });

  it(`refuses a clock of more than ${CLOCK_HOSTS_MAX} hosts, from the count alone`, () => {
    const many = Object.fromEntries(Array.from({ length: CLOCK_HOSTS_MAX + 1 }, (_, i) => [`h${i}`, 1]));
    expect(() => checkClock(many)).toThrow(/257 hosts/);
  });

  it("takes __proto__ as a plain host name, without touching prototypes", () => {
    const clock = checkClock(JSON.parse('{"__proto__": 3}'));
    expect(Object.entries(clock)).toEqual([["__proto__", 3]]);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});
