import { describe, expect, it } from "vitest";
import { checkHistory } from "../../src/lincheck/index.js";
import type { ReplicaPlant } from "../../src/server/replica-plant-names.js";
import { ViolationError } from "../../src/sim/core/checker.js";
import type { ReplicaMember } from "../../src/sim/core/replica-member.js";
import { ReplicaCluster } from "./replica-cluster.js";

/** The seeds each plant is tried on, from 1, until one is caught. */
const SEEDS_MAX = 12;
const DISK_STALL_RATE = 0.05;

type Scenario = (cluster: ReplicaCluster, seed: number) => Promise<void>;

/** A random member crashes every ~`everyMs` while `puts` puts and reads run; healed, the cluster writes a little more and must converge. */
function crashes(everyMs: number, puts: number, lossRate = 0): Scenario {
  return async (cluster, seed) => {
    cluster.network.faults.lossRate = lossRate;
    cluster.crashes(everyMs, 40, 1_500);
    await cluster.putsAndReads(puts, `s${seed}-`);
    cluster.network.faults.lossRate = 0;
    await cluster.loop.runUntil(() => [...cluster.members.values()].every((member) => member.alive), cluster.loop.now() + 1_000);
    await cluster.putsAndReads(5, "after-");
    await cluster.converge();
  };
}

/** A follower is down while the leader snapshots and compacts its log; back, it installs the leader's snapshot while writes go on. */
const snapshotCatchUp: Scenario = async (cluster) => {
  await cluster.writes(5, "a");
  const leader = await cluster.elect();
  const follower = [...cluster.members.values()].find((member) => member !== leader) as ReplicaMember;
  follower.crash();
  await cluster.writes(50, "b");
  follower.start();
  await cluster.putsAndReads(30, "c");
  await cluster.converge();
};

/**
 * How a run ended: "passed" (every check held and the history is linearizable), the
 * invariant a check found broken, "not-linearizable", or "fatal: ..." for any other
 * error (the Replica stopped on an invariant of its own, say).
 */
async function verdictOf(scenario: Scenario, seed: number, plant: ReplicaPlant | undefined): Promise<string> {
  const cluster = new ReplicaCluster(seed, { diskStallRate: DISK_STALL_RATE, plant });
  try {
    await scenario(cluster, seed);
  } catch (error) {
    return error instanceof ViolationError ? error.violation.invariant : `fatal: ${String(error)}`;
  }
  return checkHistory(cluster.history).verdict === "ok" ? "passed" : "not-linearizable";
}

interface PlantCase {
  readonly plant: ReplicaPlant;
  readonly scenario: Scenario;
  /** The verdict the plant must produce on some seed. */
  readonly caughtAs: string;
}

const CASES: readonly PlantCase[] = [
  // A granted vote leaves before the vote is on disk: the message check against the disk sees it at the first election.
  { plant: "vote-before-durable", scenario: crashes(150, 60), caughtAs: "durable-before-send" },
  { plant: "ack-before-durable", scenario: crashes(150, 60), caughtAs: "durable-before-send" },
  // An answered write that a leader change then loses: a later read misses it.
  { plant: "answer-before-quorum", scenario: crashes(150, 60), caughtAs: "not-linearizable" },
  // An entry applied before it committed, then missing from a new leader's log. (Runs that
  // last past the first local snapshot stop on storage's own invariant first: a snapshot
  // above the durable commit. Frequent crashes and fewer writes reach the checks before it.)
  { plant: "apply-before-commit", scenario: crashes(40, 30), caughtAs: "leader-completeness" },
  // The follower claims a match below entries the leader believes in flight, and the leader
  // never resends them: with appends lost, the cluster stops making progress.
  { plant: "commit-notice-ahead", scenario: crashes(150, 60, 0.05), caughtAs: "liveness" },
  // The restore laid over applies: the follower's state differs from the others' at the same applied index.
  { plant: "restore-interleaves-apply", scenario: snapshotCatchUp, caughtAs: "replica-convergence" },
];

describe("the production Replica's test plants are caught by the simulator's checks (issue 17)", () => {
  it.each(CASES)("$plant is caught as $caughtAs on a seed where the Replica without it passes", async ({ plant, scenario, caughtAs }) => {
    const verdicts: string[] = [];
    let caughtSeed: number | undefined;
    for (let seed = 1; seed <= SEEDS_MAX && caughtSeed === undefined; seed++) {
      const verdict = await verdictOf(scenario, seed, plant);
      verdicts.push(`seed ${seed}: ${verdict}`);
      if (verdict === caughtAs) caughtSeed = seed;
    }
    expect(caughtSeed, verdicts.join("\n")).toBeDefined();
    expect(await verdictOf(scenario, caughtSeed as number, undefined)).toBe("passed");
  });
});
