import { describe, expect, it } from "vitest";
import { PLANT_NAMES } from "../../src/sim/core/plants.js";
import { runSimulation } from "../../src/sim/core/simulation.js";

// The runner uses worker threads, which load compiled JavaScript: `npm test` builds
// dist/ before vitest runs. Loaded by URL so that type checking does not need dist/.
type Runner = typeof import("../../src/sim/runner.js");
const runnerUrl = new URL("../../dist/sim/runner.js", import.meta.url).href;
const { runSeeds } = (await import(runnerUrl)) as Runner;

/** Every plant must be caught within the seeds CI runs; this bound is far below that. */
const SEEDS_TO_CATCH_MAX = 2000;

describe("planted bugs are caught by the default schedule", () => {
  it.each(PLANT_NAMES)("%s", async (plant) => {
    const report = await runSeeds({ from: 1, seeds: SEEDS_TO_CATCH_MAX, plant, minSteps: undefined, failuresMax: 1 });
    expect(report.violations, `plant ${plant} was not caught in ${report.seeds} seeds`).toBeGreaterThan(0);
    const seed = report.failing[0] as number;
    const caught = report.firstViolation;
    // The same seed replays to the same violation, in this thread, with tracing on.
    const replay = await runSimulation({ seed, plant, trace: true });
    expect(replay.violation?.invariant, `seed ${seed} replays`).toBe(caught?.invariant);
    expect(replay.violation?.step).toBe(caught?.step);
  }, 300_000);
});
