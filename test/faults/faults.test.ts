import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import type { FaultKind } from "./nemesis.js";
import { runFailures, runOnce, type RunOptions } from "./run.js";

/**
 * Bounded fault runs of real server processes in network namespaces (the full count is
 * `npm run faults -- --runs 20`). A seed comes from KVRAFT_FAULTS_SEED or is drawn; it
 * is printed, and a failure names the command that replays it. The clusters run with TLS
 * on every port and tokens (see README.md). Needs root, iproute2 and iptables.
 */
const SEED = Number(process.env["KVRAFT_FAULTS_SEED"] ?? Math.floor(Math.random() * 1_000_000));
const SECONDS = 20;

describe("faults: real processes under faults, judged by porcupine", () => {
  let outDir = "";
  /** A failed test keeps the histories (and visualisations) for whoever investigates. */
  let keepHistories = false;
  const keepOnFailure = (): void => onTestFailed(() => {
    keepHistories = true;
  });
  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), "kvraft-faults-test-"));
    process.stderr.write(`faults test: seed ${SEED} (replay with KVRAFT_FAULTS_SEED=${SEED}); histories in ${outDir}\n`);
  });
  afterAll(async () => {
    if (keepHistories) process.stderr.write(`faults test: histories kept in ${outDir}\n`);
    else await rm(outDir, { recursive: true, force: true });
  });

  const options = (seed: number, servers: 3 | 5, plant?: string, faultKinds?: readonly FaultKind[]): RunOptions => ({
    seed, servers, seconds: SECONDS, clients: 8, keys: 5, plant, outDir, log: () => undefined, ...(faultKinds === undefined ? {} : { faultKinds }),
  });

  it.each([{ servers: 3 as const, offset: 0 }, { servers: 5 as const, offset: 1 }])("$servers servers: linearizable, no acknowledged write lost, identical state machines, both checkers agree", async ({ servers, offset }) => {
    keepOnFailure();
    const seed = SEED + offset;
    const result = await runOnce(options(seed, servers));
    const replay = `seed ${seed}: npm run faults -- --seed ${seed} --servers ${servers} --seconds ${SECONDS}`;
    expect(runFailures(result), replay).toEqual([]);
    expect(result.judgement?.porcupine, replay).toBe("ok");
    expect(result.judgement?.lincheck, replay).toBe("ok");
    expect(result.operations, replay).toBeGreaterThan(100);
    expect(Object.values(result.faults).reduce((a, b) => a + b, 0), replay).toBeGreaterThanOrEqual(2);
  }, 300_000);

  it("a planted server bug (followers serve reads without ReadIndex) is rejected by porcupine, with its visualisation", async () => {
    keepOnFailure();
    const seed = SEED + 2;
    // Partitions and pauses leave followers behind: what a follower reading alone serves stale.
    const result = await runOnce(options(seed, 3, "stale-follower-reads", ["partition-minority", "partition-leader", "partition-one-way", "pause"]));
    const j = result.judgement;
    expect(j?.porcupine, `seed ${seed} with the plant: porcupine must reject the history`).toBe("illegal");
    expect(j?.lincheck, `seed ${seed}: src/lincheck must agree (history ${j?.historyPath})`).toBe("illegal");
    expect(j?.visualizationPath !== undefined && existsSync(j.visualizationPath)).toBe(true);
  }, 300_000);
});
