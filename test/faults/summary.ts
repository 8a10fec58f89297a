import { FAULT_KINDS, MEMBERSHIP_STEPS } from "./nemesis.js";
import { runFailures, type RunResult } from "./run.js";

/** The figures the last line of `npm run faults -- --json` carries. */
export interface FaultsSummary {
  readonly checker: "porcupine";
  readonly seed: number;
  readonly plant: string | null;
  readonly runs: number;
  /** Runs whose history porcupine found linearizable. */
  readonly linearizable: number;
  /** Runs whose history porcupine found not linearizable. */
  readonly violations: number;
  /** Runs where porcupine ran out of time: a failure, not a pass. */
  readonly unknownVerdicts: number;
  readonly lostAckedWrites: number;
  readonly stateMismatches: number;
  /** Histories on which porcupine and src/lincheck gave different decided verdicts. */
  readonly checkerDisagreements: number;
  readonly lincheckUnknownVerdicts: number;
  readonly operations: number;
  readonly indeterminateOperations: number;
  readonly failedOperations: number;
  readonly faults: Record<string, number>;
  /** Fault kinds the runs never injected (should be empty). */
  readonly faultKindsMissing: readonly string[];
  readonly failedRuns: readonly { seed: number; servers: number; failures: readonly string[] }[];
  readonly outDir: string;
}

export function summarize(results: readonly RunResult[], seed: number, plant: string | undefined, outDir: string): FaultsSummary {
  const faults: Record<string, number> = {};
  for (const kind of [...FAULT_KINDS, ...MEMBERSHIP_STEPS]) faults[kind] = 0;
  for (const result of results) {
    for (const [kind, n] of Object.entries(result.faults)) faults[kind] = (faults[kind] ?? 0) + n;
  }
  const count = (predicate: (r: RunResult) => boolean): number => results.filter(predicate).length;
  const sum = (field: (r: RunResult) => number): number => results.reduce((total, r) => total + field(r), 0);
  return {
    checker: "porcupine",
    seed,
    plant: plant ?? null,
    runs: results.length,
    linearizable: count((r) => r.judgement?.porcupine === "ok"),
    violations: count((r) => r.judgement?.porcupine === "illegal"),
    unknownVerdicts: count((r) => r.judgement?.porcupine === "unknown"),
    lostAckedWrites: sum((r) => r.lostAckedWrites.length),
    stateMismatches: sum((r) => r.stateMismatches.length),
    checkerDisagreements: count((r) => r.judgement?.disagree === true),
    lincheckUnknownVerdicts: count((r) => r.judgement?.lincheck === "unknown"),
    operations: sum((r) => r.operations),
    indeterminateOperations: sum((r) => r.indeterminateOperations),
    failedOperations: sum((r) => r.failedReads + r.failedWrites),
    faults,
    faultKindsMissing: Object.entries(faults).filter(([, n]) => n === 0).map(([kind]) => kind),
    failedRuns: results.map((r) => ({ seed: r.seed, servers: r.servers, failures: runFailures(r) })).filter((r) => r.failures.length > 0),
    outDir,
  };
}
