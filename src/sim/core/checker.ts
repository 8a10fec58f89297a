import type { Message } from "../../raft/messages.js";
import { applyConfChange, decodeConfChange } from "../../raft/conf-change.js";
import type { Configuration, Entry, NodeId } from "../../raft/types.js";
import { EntryType } from "../../raft/types.js";

/** A broken safety or liveness property, with the virtual time and step it broke at. */
export interface Violation {
  readonly invariant: string;
  readonly message: string;
  readonly step: number;
  readonly timeMs: number;
}

export class ViolationError extends Error {
  override readonly name = "ViolationError";
  constructor(readonly violation: Omit<Violation, "step" | "timeMs">) {
    super(`${violation.invariant}: ${violation.message}`);
  }
}

function fail(invariant: string, message: string): never {
  throw new ViolationError({ invariant, message });
}

interface EntryIdentity {
  readonly term: number;
  readonly type: number;
  readonly data: Uint8Array;
  /** The term of the entry before it in the first log that held it. */
  readonly prevTerm: number;
}

/**
 * Raft's safety properties (figure 3 of the paper), checked incrementally as the
 * simulation runs so that a failure stops at the step that caused it:
 * - election safety: at most one leader per term;
 * - log matching: two logs that hold an entry with the same index and term hold the
 *   same entry and the same history before it (checked inductively: every (index,
 *   term) pair names one entry whose predecessor always has the same term);
 * - leader completeness: a new leader's log holds every committed entry;
 * - state-machine safety: no two nodes apply different entries at one index, and
 *   applying one entry gives the same result everywhere.
 */
export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly entries = new Map<string, EntryIdentity>();
  /** The entry applied at each index by the first node to apply it. */
  private readonly applied: (Entry | undefined)[] = [];
  private readonly appliedResults: (string | undefined)[] = [];
  /** The highest index known committed anywhere, and the terms of committed entries. */
  maxCommitted = 0;
  /** The configuration after every committed change applied so far, in index order. */
  committedConfig: Configuration;
  /**
   * The term of the first leader to commit each index. Raft's Leader Completeness promises a
   * leader of term T every entry committed in an earlier term; a leader of an older term
   * elected late (a delayed vote arriving after a newer leader committed) owes nothing of
   * what the newer term committed.
   */
  private readonly commitTerms: number[] = [];
  private highestLeaderCommit = 0;

  constructor(initial: Configuration) {
    this.committedConfig = initial;
  }

  leaderElected(term: number, id: NodeId): void {
    const existing = this.leaderOfTerm.get(term);
    if (existing !== undefined && existing !== id) {
      fail("election-safety", `two leaders in term ${term}: ${existing} and ${id}`);
    }
    this.leaderOfTerm.set(term, id);
  }

  /** A node made `entry` durable, with `prevTerm` the term of its own entry before it. */
  entryPersisted(node: NodeId, entry: Entry, prevTerm: number | undefined): void {
    const key = `${entry.index}:${entry.term}`;
    const known = this.entries.get(key);
    if (known === undefined) {
      this.entries.set(key, { term: entry.term, type: entry.type, data: entry.data, prevTerm: prevTerm ?? -1 });
      return;
    }
    if (known.type !== entry.type || !sameBytes(known.data, entry.data)) {
      fail("log-matching", `node ${node} holds a different entry at index ${entry.index} term ${entry.term}`);
    }
    if (prevTerm !== undefined && known.prevTerm !== -1 && known.prevTerm !== prevTerm) {
      fail("log-matching", `node ${node}: entry ${entry.index} term ${entry.term} follows an entry of term ${prevTerm}, elsewhere of term ${known.prevTerm}`);
    }
  }

  /** A node applied `entry`; `result` is a stable rendering of what applying returned. */
  /** Which entry executed each (session, seq) write, and the writes clients were told succeeded. */
  private readonly executedAt = new Map<string, number>();
  private readonly acknowledged = new Map<string, number>();

  /** Exactly-once: a (session, seq) write is executed by one committed entry at most. */
  writeApplied(id: string, index: number, executed: boolean): void {
    if (!executed) return;
    const first = this.executedAt.get(id);
    if (first !== undefined && first !== index) {
      fail("exactly-once", `write ${id} was executed twice: by the entries at ${first} and ${index}`);
    }
    this.executedAt.set(id, index);
  }

  writeAcknowledged(id: string, index: number): void {
    this.acknowledged.set(id, index);
  }

  /** Every write a client was told succeeded was executed exactly once. */
  checkAcknowledgedWrites(): void {
    for (const [id, index] of this.acknowledged) {
      if (!this.executedAt.has(id)) fail("exactly-once", `write ${id}, acknowledged at index ${index}, was never executed by a committed entry`);
    }
  }

  /** Returns true when this is the first application of the entry anywhere. */
  entryApplied(node: NodeId, entry: Entry, result: string): boolean {
    const first = this.applied[entry.index];
    if (first === undefined) {
      this.applied[entry.index] = entry;
      this.appliedResults[entry.index] = result;
      this.maxCommitted = Math.max(this.maxCommitted, entry.index);
      if (entry.type === EntryType.ConfChange) this.committedConfig = applyConfChange(this.committedConfig, decodeConfChange(entry.data));
      return true;
    }
    if (first.term !== entry.term || first.type !== entry.type || !sameBytes(first.data, entry.data)) {
      fail("state-machine-safety", `node ${node} applied a different entry at index ${entry.index} (term ${entry.term}, first applied with term ${first.term})`);
    }
    if (this.appliedResults[entry.index] !== result) {
      fail("state-machine-determinism", `node ${node} got result ${result} applying index ${entry.index}, another node got ${this.appliedResults[entry.index]}`);
    }
    return false;
  }

  /** The committed entry at `index`, as first applied (undefined if none applied yet). */
  committedEntry(index: number): Entry | undefined {
    return this.applied[index];
  }

  /** A leader of `term` has commit index `commit`: the indices it is first to commit were committed in `term`. */
  recordLeaderCommit(term: number, commit: number): void {
    for (let index = this.highestLeaderCommit + 1; index <= commit; index++) this.commitTerms[index] = term;
    this.highestLeaderCommit = Math.max(this.highestLeaderCommit, commit);
  }

  /** Leader completeness (Raft §5.4): the log of `node`, leader of `term`, holds every entry committed in an earlier term. */
  checkLeaderCompleteness(node: NodeId, term: number, firstIndex: number, termAt: (index: number) => number | undefined): void {
    for (let index = firstIndex; index <= this.maxCommitted; index++) {
      const committed = this.applied[index];
      // An entry is committed by a leader of its own term or a later one: a commit no leader
      // was seen making (its leader crashed before any check ran) still has that bound.
      if (committed === undefined || Math.max(this.commitTerms[index] ?? 0, committed.term) >= term) continue;
      const held = termAt(index);
      if (held !== committed.term) {
        fail("leader-completeness", `node ${node}, leader of term ${term}, has term ${held} at committed index ${index} (committed with term ${committed.term})`);
      }
    }
  }

  /**
   * The durability contract (Raft §5, figure 2): a node sends nothing of a term that
   * is not durable, grants a vote only once the vote is durable, and acknowledges
   * entries only once they are durable. `durable` is what the node's disk holds now.
   */
  checkDurableBeforeSend(m: Message, durable: { term: number; vote: NodeId; hasEntry: (index: number) => boolean }): void {
    if (m.type === "PreVote" || m.type === "PreVoteResp") return; // A pre-vote promises nothing.
    if (m.term > durable.term) {
      fail("durable-before-send", `node ${m.from} sent ${m.type} of term ${m.term} while its durable term is ${durable.term}`);
    }
    // A vote of a term already superseded on disk can never be given again: it is safe.
    if (m.type === "VoteResp" && !m.reject && durable.term === m.term && durable.vote !== m.to) {
      fail("durable-before-send", `node ${m.from} granted its vote in term ${m.term} to ${m.to} before the vote was durable (durable vote: ${durable.vote})`);
    }
    if (m.type === "AppResp" && !m.reject && m.session !== 0 && !durable.hasEntry(m.index)) {
      fail("durable-before-send", `node ${m.from} acknowledged entries up to ${m.index} before they were durable`);
    }
  }

  /** Raft §5.4.2: a leader's commit index moves only to an entry of its own term. */
  checkLeaderCommit(node: NodeId, term: number, commit: number, termAtCommit: number | undefined): void {
    if (termAtCommit !== term) {
      fail("commit-current-term", `leader ${node} of term ${term} advanced its commit index to ${commit}, an entry of term ${termAtCommit}`);
    }
  }

  /**
   * Raft §8: a leader confirms a read only once it has committed an entry of its term,
   * so the read index is at least the index of its first entry (the no-op).
   */
  checkReadIndex(node: NodeId, term: number, index: number, termStartIndex: number): void {
    if (index < termStartIndex) {
      fail("read-after-term-commit", `leader ${node} of term ${term} confirmed a read at index ${index}, before its first entry of the term at ${termStartIndex} was committed`);
    }
  }

  /** Nothing durable goes backwards across a restart. */
  checkRestart(node: NodeId, before: { term: number; commit: number }, after: { term: number; commit: number }): void {
    if (after.term < before.term) fail("durable-term", `node ${node} restarted with term ${after.term} below its durable term ${before.term}`);
    if (after.commit < before.commit) fail("durable-commit", `node ${node} restarted with commit ${after.commit} below its durable commit ${before.commit}`);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export { fail as violation };
