import { invariant } from "../assert/invariant.js";
import type { ConfChange, ConfChangeType, Configuration, NodeId } from "./types.js";

/**
 * Membership changes, one server at a time (Raft thesis §4.1).
 *
 * When a change takes effect: on COMMIT, as etcd does, not on append as the thesis
 * does. Every node derives its configuration from the snapshot's configuration plus
 * the configuration-change entries up to its commit index. So an entry that is later
 * truncated never took effect and nothing needs reverting, and restart recovery is a
 * replay of committed entries. Because a node may lag in learning a commit, two nodes
 * can run on configurations one change apart; any two majorities of configurations
 * that differ by one voter intersect, which is why the leader never lets a second
 * change into the log while one is uncommitted (and never proposes one before it has
 * committed an entry of its own term, the fix to the single-server change bug).
 */

const TYPE_CODES: Record<ConfChangeType, number> = { "add-learner": 1, promote: 2, remove: 3 };
const CODE_TYPES = new Map<number, ConfChangeType>(
  Object.entries(TYPE_CODES).map(([name, code]) => [code, name as ConfChangeType]),
);

/** Five bytes: a type code and a big-endian uint32 member id. */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const bytes = new Uint8Array(5);
  bytes[0] = TYPE_CODES[change.type];
  new DataView(bytes.buffer).setUint32(1, change.nodeId);
  return bytes;
}

export function decodeConfChange(bytes: Uint8Array): ConfChange {
  const type = CODE_TYPES.get(bytes[0] ?? 0);
  if (bytes.length !== 5 || type === undefined) {
    throw new Error(`invariant: a configuration-change entry has 5 bytes and a known type, got ${bytes.length} bytes, type code ${bytes[0]}`);
  }
  const nodeId = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1);
  return { type, nodeId };
}

/** Why a change cannot apply to a configuration, or undefined when it can. */
export function confChangeProblem(config: Configuration, change: ConfChange): string | undefined {
  const { nodeId } = change;
  if (!Number.isSafeInteger(nodeId) || nodeId < 1) return `member id must be a positive integer, got ${nodeId}`;
  const voter = config.voters.includes(nodeId);
  const learner = config.learners.includes(nodeId);
  switch (change.type) {
    case "add-learner":
      if (voter) return `member ${nodeId} is already a voter`;
      if (learner) return `member ${nodeId} is already a learner`;
      return undefined;
    case "promote":
      if (voter) return `member ${nodeId} is already a voter`;
      if (!learner) return `member ${nodeId} is not a learner: add it as a learner first`;
      return undefined;
    case "remove":
      if (!voter && !learner) return `member ${nodeId} is not in the configuration`;
      if (voter && config.voters.length === 1) return `member ${nodeId} is the last voter: removing it would leave no quorum`;
      return undefined;
  }
}

/** The configuration after a change; the change must be valid (see confChangeProblem). */
export function applyConfChange(config: Configuration, change: ConfChange): Configuration {
  const problem = confChangeProblem(config, change);
  invariant(problem === undefined, () => `a committed configuration change must apply cleanly: ${problem}`);
  const without = (ids: readonly NodeId[]): NodeId[] => ids.filter((id) => id !== change.nodeId);
  switch (change.type) {
    case "add-learner":
      return { voters: [...config.voters], learners: sorted([...config.learners, change.nodeId]) };
    case "promote":
      return { voters: sorted([...config.voters, change.nodeId]), learners: without(config.learners) };
    case "remove":
      return { voters: without(config.voters), learners: without(config.learners) };
  }
}

function sorted(ids: NodeId[]): NodeId[] {
  return ids.sort((a, b) => a - b);
}
