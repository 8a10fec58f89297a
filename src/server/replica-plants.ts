/**
 * Deliberately broken behaviours of the production ready loop (replica.ts), for the
 * simulator alone: each must be caught by its checks (sim/core/checker.ts,
 * member-checks.ts, the linearizability check of a recorded history), which shows that
 * those checks can fail on the loop that ships. Switched on by the one test-only option
 * ReplicaOptions.testOnlyPlant; servers never set it, and with it unset nothing here runs.
 * The plants' names and what each breaks are in replica-plant-names.ts.
 */
import { type KvResult, KvStateMachine } from "../kv/index.js";
import { restoreFromPieces } from "./snapshot-slices.js";
import type { AppendRequest, Message } from "../raft/messages.js";
import type { Ready } from "../raft/ready.js";
import type { Entry, SnapshotMeta } from "../raft/types.js";
import { EntryType } from "../raft/types.js";
import type { RaftStorage } from "../storage/index.js";
import type { Scheduler } from "./scheduler.js";
import type { WaitingRequests } from "./waiting-requests.js";
import type { ReplicaPlant } from "./replica-plant-names.js";


/** How long a slice of the planted late restore takes (restore-interleaves-apply). */
export const RESTORE_SLICE_MS = 1;

/** vote-before-durable / ack-before-durable: whether `m` of messagesAfterPersist leaves before the write. */
export function sentBeforeDurable(plant: ReplicaPlant | undefined, m: Message): boolean {
  if (plant === "ack-before-durable") return m.type === "AppResp";
  if (plant === "vote-before-durable") return m.type === "VoteResp" || m.type === "PreVoteResp";
  return false;
}

/**
 * apply-before-commit: the entries to apply, committed or not, each the next index after
 * what is applied; `appliedIndex` is asked again after each, as applying moves it.
 */
export function* entriesToApplyEarly(ready: Ready, appliedIndex: () => number): Generator<Entry> {
  for (const entry of [...ready.committedEntries, ...ready.entries]) {
    if (entry.index === appliedIndex() + 1) yield entry;
  }
}

/**
 * answer-before-quorum: once `written` is durable here, settles the proposals waiting
 * for them with what applying them to a scratch copy of `kv` gives, the log's entries
 * before them (written, maybe uncommitted) applied first.
 */
export function answerFromScratchCopy(kv: KvStateMachine, storage: RaftStorage, written: readonly Entry[], waiting: WaitingRequests): void {
  const last = written[written.length - 1];
  if (last === undefined || waiting.proposalCount === 0) return;
  const scratch = KvStateMachine.restore(kv.snapshot(), kv.config);
  const results = new Map<number, KvResult | undefined>();
  while (scratch.appliedIndex < last.index) {
    for (const entry of storage.entries(scratch.appliedIndex + 1, last.index + 1, Number.MAX_SAFE_INTEGER)) {
      if (entry.type === EntryType.Normal) results.set(entry.index, scratch.apply(entry.index, entry.data));
      else scratch.applyNoop(entry.index);
    }
  }
  for (const entry of written) waiting.applied(entry, results.get(entry.index));
}

/**
 * commit-notice-ahead: a notice `m` whose prevIndex/prevTerm this member's log does not
 * match, rewritten to claim a match at min(commit, `lastIndex`) with this member's own
 * term there; a notice that matches, or whose claim falls where the log was compacted,
 * is left as it is.
 */
export function noticeTakenOnTrust(m: AppendRequest, lastIndex: number, termAt: (index: number) => number | undefined): AppendRequest {
  if (m.entries.length > 0 || termAt(m.prevIndex) === m.prevTerm) return m;
  const claimed = Math.min(m.commit, lastIndex);
  const term = termAt(claimed);
  return term === undefined ? m : { ...m, prevIndex: claimed, prevTerm: term };
}

/**
 * restore-interleaves-apply: restores `meta` from storage a key per slice, and then lays
 * it over the live state, passing over as no-ops the entries the live state applied
 * meanwhile (their writes are overwritten by the restore's later slices).
 */
export async function restoreOverApplies(storage: RaftStorage, meta: SnapshotMeta, scheduler: Scheduler, live: () => KvStateMachine, install: (kv: KvStateMachine) => void): Promise<void> {
  const source = storage.readSnapshotData(meta);
  if (source === undefined) return;
  const restored = await restoreFromPieces(source, () => new Promise<void>((resolve) => scheduler.after(RESTORE_SLICE_MS, resolve)), live().config, 1);
  const current = live();
  for (let index = restored.appliedIndex + 1; index <= current.appliedIndex; index++) restored.applyNoop(index);
  install(restored);
}
