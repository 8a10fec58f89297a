import { PLANT_NAMES } from "../sim/core/plants.js";
import { Simulation } from "../sim/core/simulation.js";
import { runSeeds } from "../sim/runner.js";
import type { SimReport } from "../sim/summary.js";
import type { SimFlags } from "./sim-command.js";
import { writeShivizFile } from "./sim-shiviz.js";

/** Exit status for bad arguments, as main.ts's EXIT_USAGE (importing main.ts from here would be an import cycle). */
const EXIT_USAGE = 2;

/** --shiviz draws one run: it needs --seed and makes no sense over many seeds. */
function shivizUsageError(flags: SimFlags): string | undefined {
  if (flags.shiviz === undefined) return undefined;
  if (flags.seeds !== undefined) return "--shiviz draws one run and cannot be used with --seeds; pick one seed with --seed S";
  if (flags.seed === undefined) return "--shiviz needs --seed S: it replays that one seed and writes its trace";
  return undefined;
}

/** Runs the seeds (or replays one) and prints the report; returns the exit status. */
export async function runSimCommand(flags: SimFlags): Promise<number> {
  if (flags.listPlants === true) {
    for (const name of PLANT_NAMES) process.stdout.write(`${name}\n`);
    return 0;
  }
  const usage = shivizUsageError(flags);
  if (usage !== undefined) {
    process.stderr.write(`kvraft sim: ${usage}\n`);
    return EXIT_USAGE;
  }
  if (flags.seed !== undefined) return replaySeed(flags, flags.seed);
  const seeds = flags.seeds ?? 100;
  const progress = flags.json === true && process.stderr.isTTY !== true ? undefined : progressPrinter(seeds);
  const report = await runSeeds({
    from: flags.from, seeds, plant: flags.plant, minSteps: flags.steps, workers: flags.workers,
    failuresMax: flags.maxFailures, onProgress: progress,
  });
  if (progress !== undefined && process.stderr.isTTY === true) process.stderr.write("\n");
  printReport(report, flags.json === true);
  const coverageOk = flags.plant !== undefined || report.coverageFailures.length === 0;
  return report.violations === 0 && coverageOk ? 0 : 1;
}

/** A live counter on a terminal; in a log (CI), one line every tenth of the run. */
function progressPrinter(total: number): (report: SimReport) => void {
  let last = 0;
  const tty = process.stderr.isTTY === true;
  const step = Math.max(1, Math.ceil(total / 10));
  return (report) => {
    if (!tty) {
      if (report.seeds % step === 0 || report.seeds === total) process.stderr.write(`  ${report.seeds}/${total} seeds, ${report.violations} violations\n`);
      return;
    }
    const now = Date.now();
    if (now - last < 250 && report.seeds !== total) return;
    last = now;
    process.stderr.write(`\r  ${report.seeds}/${total} seeds, ${report.violations} violations`);
  };
}

function printReport(report: SimReport, json: boolean): void {
  if (!json) {
    process.stdout.write([
      `seeds: ${report.seeds} from ${report.from}${report.plant !== null ? ` (plant: ${report.plant})` : ""}`,
      `violations: ${report.violations}${report.failing.length > 0 ? ` (failing seeds: ${report.failing.slice(0, 20).join(", ")}${report.failing.length > 20 ? ", ..." : ""})` : ""}`,
      report.firstViolation !== null ? `first: seed ${report.firstViolation.seed}: ${report.firstViolation.invariant}: ${report.firstViolation.message}` : "",
      `faults: ${report.totals.lossyCrashes} crashes losing writes, ${report.totals.partitions} partitions, ${report.totals.membershipChanges} membership changes, ${report.totals.snapshotInstalls} snapshot installs, ${report.totals.wipes} lost disks, ${report.totals.leadershipTransfers} transfers`,
      `situations: ${report.totals.pauses} pauses (${report.totals.pausedLeadersDeposed} leaders resumed deposed), ${report.totals.skewedClocks} skewed clocks, ${report.totals.smallMessageLimits} seeds with small message limits, ${report.totals.staleTailAppends} appends ending inside a stale tail`,
      `work: ${report.totals.steps} steps, ${report.totals.clientOps} client operations, ${report.seedsPerSecond} seeds/s`,
      `client library: ${report.totals.clientConnections} connections, ${report.totals.clientRedirects} redirects followed, ${report.totals.clientRetries} attempts retried, ${report.totals.sessionsRegistered} sessions registered (${report.totals.sessionsExpired} found expired)`,
      report.coverageFailures.length > 0 ? `seeds missing a required fault: ${report.coverageFailures.slice(0, 20).join(", ")}` : "",
      // The closing line CI reads: a seed passes with no violation and full coverage.
      `sim: ${report.seeds - failedSeeds(report)} passed, ${failedSeeds(report)} failed`,
    ].filter((line) => line !== "").join("\n") + "\n");
    return;
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function failedSeeds(report: SimReport): number {
  const coverage = report.plant === null ? report.coverageFailures : [];
  return new Set([...report.failing, ...coverage]).size;
}

async function replaySeed(flags: SimFlags, seed: number): Promise<number> {
  const sim = new Simulation({
    seed, plant: flags.plant, trace: flags.trace === true, minSteps: flags.steps,
    shivizEventsMax: flags.shiviz === undefined ? undefined : flags.shivizEventsMax,
  });
  const result = await sim.run();
  if (flags.shiviz !== undefined && !writeShivizFile(flags.shiviz, sim.shiviz)) return 1;
  if (flags.trace === true) {
    const lines = flags.traceLines === 0 ? result.trace : result.trace.slice(-flags.traceLines);
    if (lines.length < result.trace.length) process.stdout.write(`... ${result.trace.length - lines.length} earlier lines (--trace-lines 0 shows all)\n`);
    for (const line of lines) process.stdout.write(`${line}\n`);
    process.stdout.write("\nnodes at the end:\n");
    for (const line of sim.describeNodes()) process.stdout.write(`  ${line}\n`);
  }
  const summary = {
    seed, plant: flags.plant ?? null, violation: result.violation ?? null, linearizability: result.linearizability,
    operations: result.operations, missingCoverage: result.missingCoverage, stats: result.stats,
  };
  if (flags.json === true) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else if (result.violation !== undefined) process.stdout.write(`\nVIOLATION at step ${result.violation.step} (t=${result.violation.timeMs} ms): ${result.violation.invariant}: ${result.violation.message}\n`);
  else process.stdout.write(`\nseed ${seed}: no violation (${result.stats.steps} steps, ${result.operations} operations, linearizable: ${result.linearizability})\n`);
  return result.violation === undefined ? 0 : 1;
}
