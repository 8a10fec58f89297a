import { CLIENT_PATH, MEMBER_LOOP } from "./core/member-loop.js";
import type { SimResult } from "./core/simulation.js";
import type { SimStats } from "./core/types.js";
import { emptyStats } from "./core/types.js";

/** What a worker sends back for one seed: small, so thousands cross threads cheaply. */
export interface SeedSummary {
  readonly seed: number;
  readonly violation: SimResult["violation"];
  readonly missingCoverage: readonly string[];
  readonly stats: SimStats;
  readonly operations: number;
}

export function summarize(result: SimResult): SeedSummary {
  return { seed: result.seed, violation: result.violation, missingCoverage: result.missingCoverage, stats: result.stats, operations: result.operations };
}

/** Totals over many seeds, and the minimum per seed of each coverage count. */
export interface SimReport {
  seeds: number;
  /** The ready loop that drove the members (MEMBER_LOOP). */
  loop: typeof MEMBER_LOOP;
  /** What the clients ran (CLIENT_PATH). */
  clients: typeof CLIENT_PATH;
  from: number;
  plant: string | null;
  violations: number;
  failing: number[];
  coverageFailures: number[];
  firstViolation: (SeedSummary["violation"] & { seed: number }) | null;
  totals: SimStats & { operations: number };
  minimumPerSeed: { steps: number; clientOps: number; lossyCrashes: number; partitions: number; membershipChanges: number; snapshotInstalls: number; pauses: number };
  elapsedMs: number;
  seedsPerSecond: number;
}

export function emptyReport(from: number, plant: string | undefined): SimReport {
  const big = Number.MAX_SAFE_INTEGER;
  return {
    seeds: 0, loop: MEMBER_LOOP, clients: CLIENT_PATH, from, plant: plant ?? null, violations: 0, failing: [], coverageFailures: [], firstViolation: null,
    totals: { ...emptyStats(), operations: 0 },
    minimumPerSeed: { steps: big, clientOps: big, lossyCrashes: big, partitions: big, membershipChanges: big, snapshotInstalls: big, pauses: big },
    elapsedMs: 0,
    seedsPerSecond: 0,
  };
}

export function addToReport(report: SimReport, summary: SeedSummary): void {
  report.seeds++;
  if (summary.violation !== undefined) {
    report.violations++;
    report.failing.push(summary.seed);
    if (report.firstViolation === null || summary.seed < report.firstViolation.seed) {
      report.firstViolation = { ...summary.violation, seed: summary.seed };
    }
  }
  if (summary.missingCoverage.length > 0) report.coverageFailures.push(summary.seed);
  const totals = report.totals as unknown as Record<string, number>;
  for (const [key, value] of Object.entries(summary.stats)) totals[key] = (totals[key] ?? 0) + value;
  report.totals.operations += summary.operations;
  const minimum = report.minimumPerSeed as unknown as Record<string, number>;
  const stats = summary.stats as unknown as Record<string, number>;
  for (const key of Object.keys(minimum)) minimum[key] = Math.min(minimum[key] as number, stats[key] ?? 0);
}

export function finishReport(report: SimReport, elapsedMs: number): SimReport {
  report.failing.sort((a, b) => a - b);
  report.coverageFailures.sort((a, b) => a - b);
  report.elapsedMs = Math.round(elapsedMs);
  report.seedsPerSecond = Math.round((report.seeds / Math.max(1, elapsedMs)) * 1000 * 10) / 10;
  if (report.seeds === 0) for (const key of Object.keys(report.minimumPerSeed)) (report.minimumPerSeed as unknown as Record<string, number>)[key] = 0;
  return report;
}
