import { describe, expect, it } from "vitest";
import { runSimulation } from "../../src/sim/core/simulation.js";
import { addToReport, emptyReport, summarize } from "../../src/sim/summary.js";

describe("the simulator's report (kvraft sim --json)", () => {
  it("says which ready loop drove the members, and counts the seed", async () => {
    const report = emptyReport(1, undefined);
    addToReport(report, summarize(await runSimulation({ seed: 1 })));
    // The members run the production Replica (replica-member.ts): the report says so.
    expect(report.loop).toBe("production-replica");
    // ...and the clients the client library's call path (clients.ts), whose work the totals count.
    expect(report.clients).toBe("client-library");
    expect(report.totals.clientConnections).toBeGreaterThan(0);
    expect(report.totals.sessionsRegistered).toBeGreaterThan(0);
    expect(report.seeds).toBe(1);
    expect(report.violations).toBe(0);
  });
});
