import type { AppendRequest, Message, SnapshotChunk } from "./messages.js";
import type { NodeState } from "./node-state.js";
import { isMember } from "./quorum.js";
import { NONE } from "./types.js";

/**
 * The edge checks of a message that came from the network, before it is stepped. Raft's
 * invariants (invariant.ts) hold for messages correct members send; a message no
 * correct member sends (made by a stranger, a bug, a corrupted peer) could break one,
 * and a broken invariant stops the process. So such a message is refused here, with the
 * reason, and never stepped. Pure: reads the node, changes nothing.
 *
 * Refused:
 * - a sender that is not a voter or learner of this node's configuration, with two
 *   exceptions, both for callers the transport has already admitted: a node whose
 *   configuration is still empty (it joined with no data, no snapshot yet) takes any
 *   sender; and a node that follows no leader, follows this sender, or has not heard
 *   its leader for an election timeout takes a leader's messages (append, heartbeat,
 *   snapshot) and a candidate's vote requests from it. That is how a member that missed the change adding the current
 *   leader (down, cut off, or back from a lost disk at the bootstrap configuration)
 *   catches up: its configuration cannot name that leader until it has the leader's
 *   log. The simulator lost liveness without it (seeds 173, 294 of 400; 2698, where the
 *   stale node was non-voting and kept its silent old leader). A follower that hears
 *   its leader never takes a non-member;
 * - an append whose entries do not follow prevIndex one by one, or whose terms go down
 *   or pass the message's term (the log would get holes or an impossible history);
 * - a snapshot chunk past its snapshot's size, a last chunk that does not end at it, a
 *   snapshot with no voters, a checksum that is not a u32, a chunk of the transfer under
 *   way with another snapshot (index, term, size, checksum) than its first chunk, and a
 *   last chunk whose snapshot is no longer above the commit index (installing it would
 *   lose committed entries). The data itself is checked against the checksum by the
 *   follower as it takes the last chunk (follower.ts): that needs the transfer's state;
 * - on a leader: an acknowledgement of an index past its log, a snapshot offset past
 *   its snapshot.
 */
export function messageRefusal(n: NodeState, m: Message): string | undefined {
  if (m.to !== n.id) return `the message is for member ${m.to}, not this member (${n.id})`;
  const config = n.config;
  const configEmpty = config.voters.length === 0 && config.learners.length === 0;
  if (!configEmpty && !isMember(config, m.from) && !mayBeUnknownMember(n, m)) {
    return `member ${m.from} is not in this member's configuration (voters ${config.voters.join(",")}; learners ${config.learners.join(",") || "none"})`;
  }
  switch (m.type) {
    case "App":
      return appendRefusal(m);
    case "Snap":
      return snapshotChunkRefusal(n, m);
    case "AppResp":
      if (n.role === "leader" && m.term === n.term && !m.reject && m.index > n.log.lastIndex()) {
        return `an acknowledgement of index ${m.index} past this leader's last index ${n.log.lastIndex()}`;
      }
      return undefined;
    case "SnapResp": {
      const sizeBytes = n.log.storage.snapshotMeta().sizeBytes;
      if (n.role === "leader" && m.term === n.term && !m.reject && !m.done && m.nextOffset > sizeBytes) {
        return `a snapshot offset ${m.nextOffset} past the snapshot's ${sizeBytes} bytes`;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/**
 * A message from outside this node's configuration that a member of a newer one may
 * send it (see above): a leader's, to a node that follows no leader, follows this sender
 * or no longer hears its leader; or a candidate's vote request, to a node that hears no
 * leader. Raft answers a candidate whatever its own configuration says: a node whose
 * configuration is stale (it missed the change that added the candidate) may hold the
 * vote the newer configuration's quorum needs. The simulator lost liveness without it
 * (seeds 7081, 7661 of 10,000: voters 2, 3, 4 with 3 wiped, so 4 needed 2's vote, and 2
 * still had the configuration 1, 2, 3). Pre-vote and the log check keep a removed
 * member's requests from electing it or disturbing a cluster that hears its leader.
 */
function mayBeUnknownMember(n: NodeState, m: Message): boolean {
  switch (m.type) {
    case "App":
    case "Heartbeat":
    case "Snap":
      return m.term >= n.term && (n.leader === m.from || followsNoLiveLeader(n));
    case "PreVote":
    case "Vote":
      return followsNoLiveLeader(n);
    default:
      return false;
  }
}

/**
 * Not a leader, and no leader heard within an election timeout (or none known): a
 * leader outside the configuration may be the one this node has not learned of yet.
 * The transport admits a non-member's connection only then (server/peer-gate.ts).
 */
export function followsNoLiveLeader(n: NodeState): boolean {
  return n.role !== "leader" && (n.leader === NONE || n.electionElapsed >= n.cfg.electionTicks);
}

function appendRefusal(m: AppendRequest): string | undefined {
  let termBefore = m.prevTerm;
  for (let i = 0; i < m.entries.length; i++) {
    const entry = m.entries[i] as AppendRequest["entries"][number];
    if (entry.index !== m.prevIndex + 1 + i) {
      return `append entry ${i} has index ${entry.index}, not ${m.prevIndex + 1 + i} (entries must follow prevIndex ${m.prevIndex} one by one)`;
    }
    if (entry.term < termBefore || entry.term > m.term) {
      return `append entry ${entry.index} has term ${entry.term}: terms must not go down (previous ${termBefore}) or pass the message's term ${m.term}`;
    }
    termBefore = entry.term;
  }
  return undefined;
}

function snapshotChunkRefusal(n: NodeState, m: SnapshotChunk): string | undefined {
  const { meta } = m;
  const end = m.offset + m.data.length;
  if (end > meta.sizeBytes) return `a snapshot chunk ending at byte ${end} of a snapshot of ${meta.sizeBytes} bytes`;
  if (m.done && end !== meta.sizeBytes) return `the last snapshot chunk ends at byte ${end}, not at the snapshot's size ${meta.sizeBytes}`;
  if (meta.index < 1 || meta.term < 1 || meta.term > m.term) return `a snapshot at index ${meta.index}, term ${meta.term} (message term ${m.term})`;
  if (meta.config.voters.length === 0) return `a snapshot at index ${meta.index} with no voters`;
  if (meta.checksum !== undefined && !(Number.isInteger(meta.checksum) && meta.checksum >= 0 && meta.checksum <= 0xffff_ffff)) {
    return `a snapshot checksum ${meta.checksum} that is not a CRC32C (an integer from 0 to 2^32 - 1)`;
  }
  if (m.offset === 0) return undefined;
  const incoming = n.following.incoming;
  if (incoming === undefined || incoming.term !== m.term || incoming.leader !== m.from || incoming.transferId !== m.transferId) {
    return undefined; // Not the transfer under way: the follower refuses it by itself.
  }
  const first = incoming.meta;
  if (meta.index !== first.index || meta.term !== first.term || meta.sizeBytes !== first.sizeBytes || meta.checksum !== first.checksum) {
    return `a chunk of transfer ${m.transferId} for the snapshot at ${meta.index}/${meta.term} (${meta.sizeBytes} bytes, checksum ${meta.checksum ?? "none"}), which began with ${first.index}/${first.term} (${first.sizeBytes} bytes, checksum ${first.checksum ?? "none"})`;
  }
  if (m.done && m.offset === incoming.received && meta.index <= n.log.committed) {
    return `installing the snapshot at index ${meta.index} would lose committed entries (commit index ${n.log.committed})`;
  }
  return undefined;
}
