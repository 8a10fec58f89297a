import { describe, expect, it } from "vitest";
import { runSimulation } from "../../src/sim/core/simulation.js";
import { addToReport, emptyReport, summarize } from "../../src/sim/summary.js";

describe("the simulator's report (kvraft sim --json)", () => {
  it("says which ready loop drove the members, and counts the seed", () => {
    const report = emptyReport(1, undefined);
    addToReport(report, summarize(runSimulation({ seed: 1 })));
    // sim-node.ts's own loop until Simulation drives server/replica.ts (issue 17): the report must not claim otherwise.
    expect(report.loop).toBe("sim-node");
    expect(report.seeds).toBe(1);
    expect(report.violations).toBe(0);
  });
});
