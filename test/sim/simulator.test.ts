import { describe, expect, it } from "vitest";
import { Simulation, runSimulation } from "../../src/sim/core/simulation.js";
import { MICROTASK_TURNS_PER_EVENT } from "../../src/sim/core/virtual-loop.js";

describe("the simulator", () => {
  it("replays a seed exactly: same seed, same run, step for step", async () => {
    const first = await new Simulation({ seed: 7, trace: true }).run();
    const second = await new Simulation({ seed: 7, trace: true }).run();
    expect(second.stats).toEqual(first.stats);
    expect(second.trace).toEqual(first.trace);
    expect(first.trace.length).toBeGreaterThan(1000);
  });

  it("settles every promise chain an event starts before the next event: four times the turns, the same runs", async () => {
    // A chain longer than the turns settled would go on after the next event, which no
    // Node process does (it drains its microtasks after every callback): the run would change.
    const trace = async (seed: number, microtaskTurnsPerEvent: number): Promise<readonly string[]> =>
      (await runSimulation({ seed, trace: true, microtaskTurnsPerEvent })).trace;
    for (const seed of [1, 2, 3]) expect(await trace(seed, MICROTASK_TURNS_PER_EVENT), `seed ${seed}`).toEqual(await trace(seed, 4 * MICROTASK_TURNS_PER_EVENT));
    // The comparison can fail: two turns cut the Replica's chains short, and the run changes.
    expect(await trace(1, 2)).not.toEqual(await trace(1, 4 * MICROTASK_TURNS_PER_EVENT));
  });

  it("gives different seeds different schedules", async () => {
    expect((await runSimulation({ seed: 1 })).stats).not.toEqual((await runSimulation({ seed: 2 })).stats);
  });

  it.each([1, 2, 3, 4, 5])("default seed %i: no violation, and every required fault happened", async (seed) => {
    const result = await runSimulation({ seed });
    expect(result.violation).toBeUndefined();
    expect(result.missingCoverage).toEqual([]);
    expect(result.linearizability).toBe("ok");
    expect(result.stats.steps).toBeGreaterThanOrEqual(2000);
    expect(result.stats.clientOps).toBeGreaterThanOrEqual(200);
    expect(result.stats.lossyCrashes).toBeGreaterThan(0);
    expect(result.stats.partitions).toBeGreaterThan(0);
    expect(result.stats.membershipChanges).toBeGreaterThan(0);
    expect(result.stats.snapshotInstalls).toBeGreaterThan(0);
  });

  it("keeps the fault phase going until --steps is reached", async () => {
    const result = await runSimulation({ seed: 3, minSteps: 30_000 });
    expect(result.violation).toBeUndefined();
    expect(result.stats.steps).toBeGreaterThanOrEqual(30_000);
  });
});
