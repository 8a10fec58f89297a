import { FOLLOWER_PAIR, type Workload } from "./workloads.js";

/**
 * In which order the rounds run. A goal that divides two workloads' figures (writes
 * through a follower / writes to the leader, issue 17) must not read the machine's drift
 * as a difference between them: on a shared machine the throughput of one system drifted
 * by up to 40% between workloads run one after the other (etcd's follower/leader ratio
 * read 0.99x to 1.43x in runs of the same build). So such a pair is measured as one group,
 * its rounds interleaved, and each round runs its steps in the reverse order of the round
 * before (A B C D, then D C B A): a drift that is steady over the group costs every step
 * the same.
 */

/** One measured round of one workload on one system. */
export interface RoundStep<S> {
  readonly system: S;
  readonly workload: Workload;
}

/**
 * The selected workloads as groups measured together, in the order they run: the
 * follower pair as one group at the place of writes to the leader, every other workload
 * alone. Either of the pair selected alone runs alone.
 */
export function measurementGroups(selected: readonly Workload[]): Workload[][] {
  const toLeader = selected.find((w) => w.name === FOLLOWER_PAIR.leader);
  const follower = selected.find((w) => w.name === FOLLOWER_PAIR.follower);
  const paired = toLeader !== undefined && follower !== undefined;
  const groups: Workload[][] = [];
  for (const workload of selected) {
    if (paired && workload === follower) continue;
    groups.push(paired && workload === toLeader ? [toLeader, follower] : [workload]);
  }
  return groups;
}

/**
 * Round `round`'s steps (0-based) for a group: every system, and on each every workload
 * of the group, the whole sequence reversed on odd rounds. A group of one workload
 * alternates which system goes first, as rounds always have.
 */
export function roundSteps<S>(group: readonly Workload[], systems: readonly S[], round: number): RoundStep<S>[] {
  const steps = systems.flatMap((system) => group.map((workload) => ({ system, workload })));
  return round % 2 === 0 ? steps : steps.reverse();
}
