import { describe, expect, it } from "vitest";
import { HELD_EVENTS_MAX, PauseGate } from "../../src/sim/core/pause-gate.js";
import { runSimulation } from "../../src/sim/core/simulation.js";
import type { SimStats } from "../../src/sim/core/types.js";

// The runner uses worker threads, which load compiled JavaScript: `npm test` builds
// dist/ before vitest runs. Loaded by URL so that type checking does not need dist/.
type Runner = typeof import("../../src/sim/runner.js");
const runnerUrl = new URL("../../dist/sim/runner.js", import.meta.url).href;
const { runSeeds } = (await import(runnerUrl)) as Runner;

const ALL_OFF = { pauses: false, clockSkew: false, smallMessages: false } as const;

function totalsOf(seeds: readonly number[], situations?: typeof ALL_OFF): SimStats[] {
  return seeds.map((seed) => {
    const result = runSimulation({ seed, situations });
    expect(result.violation, `seed ${seed}`).toBeUndefined();
    return result.stats;
  });
}

describe("the situations of the default schedule (situations.ts)", () => {
  it("pause every seed's member past an election timeout, skew some clocks, shrink some message limits, and count it all", () => {
    const stats = totalsOf(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(stats.every((s) => s.pauses === 1)).toBe(true);
    expect(stats.some((s) => s.pausedLeadersDeposed > 0)).toBe(true);
    expect(stats.some((s) => s.skewedClocks > 0)).toBe(true);
    expect(stats.some((s) => s.skewedClocks === 0)).toBe(true);
    expect(stats.some((s) => s.smallMessageLimits === 1)).toBe(true);
    expect(stats.some((s) => s.smallMessageLimits === 0)).toBe(true);
    expect(stats.some((s) => s.staleTailAppends > 0)).toBe(true);
  }, 120_000);

  it("switched off, none of them happens", () => {
    for (const s of totalsOf([1, 2, 3, 4], ALL_OFF)) {
      expect([s.pauses, s.skewedClocks, s.smallMessageLimits]).toEqual([0, 0, 0]);
    }
  }, 60_000);
});

describe("a paused member (pause-gate.ts)", () => {
  it("sees, on resume, its own timers, then client work, then peers' messages, each in arrival order", () => {
    const gate = new PauseGate<string>();
    expect(gate.hold(1, "message", "m0")).toBe(false);
    expect(gate.pause(1)).toBe(true);
    expect(gate.pause(1)).toBe(false);
    for (const [lane, event] of [["message", "m1"], ["client", "c1"], ["local", "l1"], ["message", "m2"], ["client", "c2"]] as const) {
      expect(gate.hold(1, lane, event)).toBe(true);
    }
    expect(gate.isPaused(2)).toBe(false);
    expect(gate.resume(1)).toEqual(["l1", "c1", "c2", "m1", "m2"]);
    expect(gate.isPaused(1)).toBe(false);
  });

  it("loses what it held when killed while paused, and refuses to hold past its limit", () => {
    const gate = new PauseGate<number>();
    gate.pause(3);
    gate.hold(3, "client", 1);
    gate.drop(3);
    expect(gate.resume(3)).toEqual([]);
    gate.pause(3);
    for (let i = 0; i < HELD_EVENTS_MAX; i++) gate.hold(3, "message", i);
    expect(() => gate.hold(3, "message", -1)).toThrow(/HELD_EVENTS_MAX/);
  });
});

/**
 * A planted bug that only a new situation exposes: caught with it within a few hundred
 * seeds (its seed replays), missed over as many seeds with it switched off.
 */
describe("plants that only the new situations catch", () => {
  it("lease-read-without-quorum: a leader paused past an election timeout serves a stale read from its lease", async () => {
    const plant = "lease-read-without-quorum";
    const seeds = 250;
    const caught = await runSeeds({ from: 1, seeds, plant, minSteps: undefined, maxFailures: 1 });
    expect(caught.violations, `not caught in ${caught.seeds} seeds`).toBeGreaterThan(0);
    const seed = caught.failing[0] as number;
    const replay = runSimulation({ seed, plant, trace: true });
    expect(replay.violation?.invariant).toBe(caught.firstViolation?.invariant);
    expect(replay.violation?.step).toBe(caught.firstViolation?.step);
    expect(replay.stats.pauses).toBe(1);
    const without = await runSeeds({ from: 1, seeds, plant, minSteps: undefined, maxFailures: 1, situations: { pauses: false } });
    expect(without.violations, `caught without pauses: seed ${without.failing[0]}`).toBe(0);
  }, 300_000);
});
