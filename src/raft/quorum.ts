import type { Configuration, NodeId } from "./types.js";

/** The number of votes that make a majority of `voterCount` voters. */
export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index that a majority of voters have durably matched. `match` gives each
 * voter's durable match index (0 when unknown or when the voter does not count).
 */
export function quorumMatchIndex(voters: readonly NodeId[], match: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const indexes = voters.map(match).sort((a, b) => b - a);
  return indexes[majority(voters.length) - 1] as number;
}

export type VoteOutcome = "won" | "lost" | "pending";

/** Tally of an election among `voters`; votes from non-voters are ignored. */
export function voteOutcome(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const needed = majority(voters.length);
  if (granted >= needed) return "won";
  if (rejected > voters.length - needed) return "lost";
  return "pending";
}

export function isVoter(config: Configuration, id: NodeId): boolean {
  return config.voters.includes(id);
}

export function isMember(config: Configuration, id: NodeId): boolean {
  return config.voters.includes(id) || config.learners.includes(id);
}

export function members(config: Configuration): NodeId[] {
  return [...config.voters, ...config.learners];
}
