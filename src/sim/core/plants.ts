import type { CorePlant } from "../../raft/config.js";
import type { ReplicaPlant } from "../../server/replica-plant-names.js";

/**
 * Deliberately broken behaviours that prove the simulator's checks can fail. Those inside
 * the protocol use the core's single test-only option, those of the ready loop the
 * Replica's (ReplicaOptions.testOnlyPlant); the driver's own (how a member restarts) live
 * in replica-member.ts.
 */
export const CORE_PLANTS: readonly CorePlant[] = [
  "commit-previous-term",
  "vote-without-log-check",
  "read-before-term-commit",
  "concurrent-conf-changes",
  "promote-unready-learner",
  /** Caught by a leader paused past an election timeout (situations.ts). */
  "lease-read-without-quorum",
  /**
   * Needs an append that ends inside a follower's stale tail from an older term: cut by a
   * small message limit, or (as the schedule without small limits also has) by the end of
   * a new leader's shorter log.
   */
  "append-skips-conflict-check",
  /** Caught by the message-limits check on seeds with small message limits (situations.ts). */
  "append-over-byte-limit",
];

/** The production Replica's plants (server/replica-plants.ts), each listed once. */
export const REPLICA_PLANTS = [
  "apply-before-commit",
  "answer-before-quorum",
  "commit-notice-ahead",
  "restore-interleaves-apply",
  "vote-before-durable",
  "ack-before-durable",
] as const satisfies readonly ReplicaPlant[];

/** Compile-time: this is `true` only when REPLICA_PLANTS names every ReplicaPlant. */
export const REPLICA_PLANTS_LISTED: [Exclude<ReplicaPlant, (typeof REPLICA_PLANTS)[number]>] extends [never] ? true : false = true;

export const DRIVER_PLANTS = [
  /** A node that lost its disk comes back as a voter instead of non-voting. */
  "wiped-node-votes",
] as const;

export type DriverPlant = (typeof DRIVER_PLANTS)[number];
export type PlantName = CorePlant | DriverPlant | ReplicaPlant;

/** The core's plants, the production Replica's (server/replica-plants.ts), then the simulator driver's own. */
export const PLANT_NAMES: readonly PlantName[] = [...CORE_PLANTS, ...REPLICA_PLANTS, ...DRIVER_PLANTS];

export function isPlantName(name: string): name is PlantName {
  return (PLANT_NAMES as readonly string[]).includes(name);
}

export function isCorePlant(name: PlantName | undefined): name is CorePlant {
  return name !== undefined && (CORE_PLANTS as readonly string[]).includes(name);
}

export function isReplicaPlant(name: PlantName | undefined): name is ReplicaPlant {
  return name !== undefined && (REPLICA_PLANTS as readonly string[]).includes(name);
}
