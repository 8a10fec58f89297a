import type { RaftConfig } from "../../raft/config.js";
import type { AppendRequest } from "../../raft/messages.js";
import type { SeededRandom } from "../../raft/random.js";
import type { NodeId } from "../../raft/types.js";
import { entriesBytes } from "../../raft/messages.js";
import { violation } from "./checker.js";
import type { SimControl } from "./faults.js";
import type { CoreView } from "./member-checks.js";

/**
 * Situations real clusters meet that the rest of the schedule (faults.ts) does not make:
 * a member paused past an election timeout, clocks ticking at far-apart rates, and small
 * message limits that cut appends (and so, with a deposed leader's queued writes, appends
 * that end inside a follower's stale tail from an older term). Each can be switched off,
 * for tests that show a planted bug is caught only because of it.
 */
export interface Situations {
  /** One member is stopped past an election timeout, its inputs held (pause-gate.ts). */
  readonly pauses: boolean;
  /** For some seeds, one or two members' clocks tick at a third to three times the rate. */
  readonly clockSkew: boolean;
  /** For some seeds, appends carry at most a few entries and a few hundred bytes. */
  readonly smallMessages: boolean;
}

export const ALL_SITUATIONS: Situations = { pauses: true, clockSkew: true, smallMessages: true };

/** Share of seeds whose clocks tick at far-apart rates. */
const CLOCK_SKEW_SHARE = 0.5;
/** A skewed clock runs this many times slower or faster than nominal, at least. */
const CLOCK_RATE_FACTOR_MIN = 2;
const CLOCK_RATE_FACTOR_JITTER = 1;
/** Share of seeds with small message limits. */
const SMALL_MESSAGES_SHARE = 0.4;
const SMALL_MESSAGE_ENTRIES_MAX = 4;
const SMALL_MESSAGE_BYTES_MIN = 64;
const SMALL_MESSAGE_BYTES_JITTER = 256;
/** A pause lasts past the longest election timeout (2 x 10 ticks of 10 ms) by this much at least. */
const PAUSE_MS_MIN = 250;
const PAUSE_MS_JITTER = 350;
/** Share of pauses that stop the leader (the others stop a random member). */
const PAUSE_LEADER_SHARE = 0.7;
/** A pause that found no running member tries again this much later. */
const PAUSE_RETRY_MS = 20;

export type MessageLimits = Pick<RaftConfig, "messageBytesMax" | "messageEntriesMax">;

/**
 * The seed's draws for the situations, made up front from their own random stream so
 * that switching one off leaves the rest of the run's draws as they were.
 */
export interface SituationDraws {
  /** Tick rate per member, 1 nominal (absent: 1). */
  readonly tickRates: ReadonlyMap<NodeId, number>;
  readonly messageLimits: MessageLimits | undefined;
}

export function drawSituations(random: SeededRandom, ids: readonly NodeId[], on: Situations): SituationDraws {
  const tickRates = new Map<NodeId, number>();
  const skewed = random.chance(CLOCK_SKEW_SHARE);
  const count = 1 + random.int(2);
  for (let i = 0; i < count; i++) {
    const id = random.pick(ids);
    const factor = CLOCK_RATE_FACTOR_MIN + random.next() * CLOCK_RATE_FACTOR_JITTER;
    const rate = random.chance(0.5) ? factor : 1 / factor;
    if (skewed && on.clockSkew) tickRates.set(id, rate);
  }
  const small = random.chance(SMALL_MESSAGES_SHARE);
  const limits = {
    messageEntriesMax: 1 + random.int(SMALL_MESSAGE_ENTRIES_MAX),
    messageBytesMax: SMALL_MESSAGE_BYTES_MIN + random.int(SMALL_MESSAGE_BYTES_JITTER),
  };
  return { tickRates, messageLimits: small && on.smallMessages ? limits : undefined };
}

/**
 * Stops one member (the leader, mostly) for longer than an election timeout. When no
 * member is running then (all down at once), it tries again a little later, until the
 * fault phase ends at `endMs`: every seed must have its pause.
 */
export function schedulePause(sim: SimControl, atMs: number, endMs: number): void {
  const { random } = sim;
  const leaderFirst = random.chance(PAUSE_LEADER_SHARE);
  const durationMs = PAUSE_MS_MIN + random.next() * PAUSE_MS_JITTER;
  const attempt = (): void => {
    const leader = sim.leaderId();
    const members = sim.memberIds().filter((id) => sim.isAlive(id));
    const victim = leaderFirst && leader !== undefined ? leader : members.length > 0 ? random.pick(members) : undefined;
    const paused = victim !== undefined && sim.pause(victim, durationMs);
    if (!paused && sim.now() + PAUSE_RETRY_MS < endMs) sim.after(PAUSE_RETRY_MS, attempt);
  };
  sim.after(atMs, attempt);
}

/**
 * Whether an append ends inside the receiver's stale tail: its log reaches past the
 * batch's last entry, holds a different entry there, and ends in an older term than the
 * sender's. The batch was cut (by a limit or the leader's log end) before the tail.
 */
export function endsInsideStaleTail(m: AppendRequest, raft: Pick<CoreView, "logLastIndex" | "logTerm">): boolean {
  const last = m.entries[m.entries.length - 1];
  if (last === undefined) return false;
  const lastIndex = raft.logLastIndex();
  if (lastIndex <= last.index) return false;
  const tailTerm = raft.logTerm(lastIndex);
  return tailTerm !== undefined && tailTerm < m.term && raft.logTerm(last.index) !== last.term;
}

/**
 * Every append respects its sender's limits: at most messageEntriesMax entries, and at
 * most messageBytesMax bytes of entries unless it carries a single entry (one entry is
 * always sent, however large). A receiver's transport refuses frames past its limit, so
 * an oversized append would stall replication for good.
 */
export function checkAppendWithinLimits(m: AppendRequest, limits: MessageLimits): void {
  const count = m.entries.length;
  if (count > limits.messageEntriesMax) {
    violation("message-limits", `member ${m.from} sent an append of ${count} entries to ${m.to}, more than its messageEntriesMax ${limits.messageEntriesMax}`);
  }
  if (count > 1) {
    const bytes = entriesBytes(m.entries);
    if (bytes > limits.messageBytesMax) violation("message-limits", `member ${m.from} sent an append of ${count} entries, ${bytes} bytes, to ${m.to}, more than its messageBytesMax ${limits.messageBytesMax}`);
  }
}
