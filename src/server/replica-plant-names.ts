/**
 * The names of the production ready loop's test-only plants (replica-plants.ts holds what
 * they do). A type only, so that `kvraft sim --plant` checks a name without loading the
 * server: src/sim/core/plants.ts lists them, and the compiler holds that list to this
 * type. Switched on by ReplicaOptions.testOnlyPlant alone; servers never set it.
 */
export type ReplicaPlant =
  /**
   * Applies each new entry of a Ready as it is handed out to be written, before it is
   * committed, and skips committed entries at indices it applied already: an entry a new
   * leader replaces stays applied (state-machine-safety), and a leader answers writes
   * that a crash can still lose.
   */
  | "apply-before-commit"
  /**
   * The leader answers a write once its OWN write of the entry is durable, not once a
   * quorum holds it: the answer is what applying the entry to a scratch copy of its
   * state (with the uncommitted entries before it) gives, so it looks right, but the
   * entry can still be lost to a leader change, and a later read misses an acknowledged
   * write (linearizability).
   */
  | "answer-before-quorum"
  /**
   * A commit-only append (a commit notice, CommitNotices) is taken on trust by the
   * follower: one its log does not match is rewritten, before it is stepped, to claim a
   * match at min(commit, own last index) with the follower's OWN term there. Rewriting
   * the commit index alone would be harmless: the core commits no further than the match
   * it checked (raft/follower.ts: min(commit, last new index)), and the leader cannot
   * forge a match either (an index and term name one entry). So the plant skips the
   * check itself. A follower holding a stale entry of an older term at a committed index
   * commits and applies it (state-machine-safety), but in a three-member cluster such a
   * tail outlives an append only when appends are cut by messageEntriesMax; what shows
   * sooner is the answer: the follower acknowledges a match below entries the leader
   * believes in flight, so the leader never resends them and, with appends lost, the
   * cluster stops making progress (liveness).
   */
  | "commit-notice-ahead"
  /**
   * A snapshot from the leader is restored a second time, a key per slice, without
   * holding the ready loop, and laid over the live state when done: entries applied
   * between the slices (after the snapshot's index) are lost from the state though they
   * count as applied, so later results and reads differ from the other members'. The
   * slices take RESTORE_SLICE_MS each, of the scheduler's time: in the simulator a slice
   * costs no virtual time otherwise, and entries arrive only as time passes.
   */
  | "restore-interleaves-apply"
  /** Sends VoteResp and PreVoteResp of messagesAfterPersist before the Ready's write is durable: a crash can make a member vote twice in a term. */
  | "vote-before-durable"
  /** Sends AppResp of messagesAfterPersist before the Ready's write is durable: a leader can count entries a crash then loses. */
  | "ack-before-durable";
