import { join } from "node:path";
import { SeededRandom } from "../../src/raft/random.js";
import { compareStateMachines, lostAckedWrites } from "./after-heal.js";
import { NetnsCluster } from "./cluster.js";
import { judge, type Judgement } from "./judge.js";
import { Nemesis, type FaultCounter, type FaultKind } from "./nemesis.js";
import { NetnsNetwork } from "./netns.js";
import { Workload } from "./workload.js";

export interface RunOptions {
  readonly seed: number;
  readonly servers: 3 | 5;
  readonly seconds: number;
  readonly clients: number;
  readonly keys: number;
  /** KVRAFT_TEST_PLANT for the servers: a deliberately broken server the judge must catch. */
  readonly plant: string | undefined;
  /** Plain TCP and HTTP instead of TLS on every port (to compare). */
  readonly plaintext?: boolean;
  /** The fault kinds to deal (default: all). */
  readonly faultKinds?: readonly FaultKind[];
  /** Where histories (and visualisations) are written. */
  readonly outDir: string;
  readonly log: (line: string) => void;
}

export interface RunResult {
  readonly seed: number;
  readonly servers: number;
  readonly operations: number;
  readonly indeterminateOperations: number;
  readonly failedReads: number;
  readonly failedWrites: number;
  readonly faults: FaultCounter;
  readonly judgement: Judgement | undefined;
  readonly lostAckedWrites: readonly string[];
  readonly stateMismatches: readonly string[];
  /** What went wrong outside the checks: a fault that could not be applied, no convergence. */
  readonly problems: readonly string[];
  readonly seconds: number;
}

/** Clean-ups of the run under way, for main's signal handler. */
export const activeCleanups = new Set<() => Promise<void>>();

/**
 * One seeded run: a fresh network and cluster, the workload under the nemesis for
 * `seconds`, then healing, the after-heal checks and the two judges. Everything it
 * starts is stopped and deleted before it returns, whatever happened.
 */
export async function runOnce(options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const ids = Array.from({ length: options.servers }, (_, i) => i + 1);
  const network = await NetnsNetwork.create(ids);
  let cluster: NetnsCluster | undefined;
  const cleanup = async (): Promise<void> => {
    await cluster?.stop();
    const problems = await network.destroy();
    for (const p of problems) options.log(`clean-up: ${p}`);
  };
  activeCleanups.add(cleanup);
  const problems: string[] = [];
  try {
    cluster = await NetnsCluster.create(network, { serverIds: ids, plant: options.plant, plaintext: options.plaintext === true });
    const c = cluster;
    c.startCoordinator();
    for (const id of ids) c.start(id);
    await c.waitForLeader().catch((error: unknown) => {
      throw new Error(`the new cluster elected no leader: ${(error as Error).message}\n${c.describe()}`);
    });
    const random = new SeededRandom(options.seed);
    const workload = new Workload({
      seed: options.seed, clients: options.clients, keys: options.keys,
      endpoints: ids.map((id) => c.clientAddress(id)), coordinatorUrl: c.coordinatorUrl, token: c.adminToken,
      ...(c.clientTls === undefined ? {} : { tls: c.clientTls }),
    });
    const nemesis = new Nemesis(c, network, random, (line) => options.log(`  ${line}`), options.faultKinds);
    workload.start();
    await nemesis.run(Date.now() + options.seconds * 1000);
    await nemesis.healAll().catch((error: unknown) => problems.push(`after healing: the final heal failed: ${(error as Error).message}`));
    const figures = await workload.stop();
    problems.push(...nemesis.problems);
    const history = workload.history;
    let lost: string[] = [];
    let mismatches: string[] = [];
    try {
      const compared = await compareStateMachines(c);
      mismatches = compared.mismatches;
      lost = lostAckedWrites(history, compared.state);
    } catch (error) {
      problems.push(`after healing: ${(error as Error).message}\n${c.describe()}`);
    }
    const base = join(options.outDir, `history-seed${options.seed}`);
    const judgement = await judge(history, `${base}.json`, `${base}.html`);
    return {
      seed: options.seed, servers: options.servers, operations: history.length,
      indeterminateOperations: history.filter((op) => op.output === undefined).length,
      failedReads: figures.failedReads, failedWrites: figures.failedWrites, faults: nemesis.counts,
      judgement, lostAckedWrites: lost, stateMismatches: mismatches, problems, seconds: (Date.now() - started) / 1000,
    };
  } finally {
    activeCleanups.delete(cleanup);
    await cleanup();
  }
}

/** The result of a run that crashed before it could judge anything. */
export function crashedRun(options: Pick<RunOptions, "seed" | "servers">, error: unknown): RunResult {
  return {
    seed: options.seed, servers: options.servers, operations: 0, indeterminateOperations: 0, failedReads: 0, failedWrites: 0,
    faults: {}, judgement: undefined, lostAckedWrites: [], stateMismatches: [],
    problems: [`after healing: the run crashed: ${(error as Error).stack ?? String(error)}`], seconds: 0,
  };
}

/** Problems with faults that could not be applied are notes; these make a run fail. */
export function runFailures(result: RunResult): string[] {
  const failures: string[] = [];
  const j = result.judgement;
  if (j === undefined) failures.push("the history was not judged");
  else {
    if (j.porcupine === "illegal") failures.push(`porcupine: not linearizable (history ${j.historyPath}, visualisation ${j.visualizationPath ?? "none"})`);
    if (j.porcupine === "unknown") failures.push(`porcupine: no verdict within its time limit (history ${j.historyPath})`);
    if (j.disagree) failures.push(`the checkers disagree: porcupine ${j.porcupine}, src/lincheck ${j.lincheck} (history ${j.historyPath})`);
  }
  failures.push(...result.lostAckedWrites.map((l) => `lost acknowledged write: ${l}`));
  failures.push(...result.stateMismatches.map((m) => `state machines differ: ${m}`));
  failures.push(...result.problems.filter((p) => p.startsWith("after healing")));
  return failures;
}
