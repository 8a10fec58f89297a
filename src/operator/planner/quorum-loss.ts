/**
 * Quorum loss, decided as data: whether a majority of voters is gone for good, and what
 * the `kvraft.io/recover-from-member=N` annotation may do about it. Pure: the controller
 * gathers the evidence (claims, each voter's /v1/status) and carries out the decision.
 *
 * The operator never recovers on its own. Without the annotation a lost quorum gives
 * QuorumLost (a condition and an Event that explain the choices) and nothing else. With
 * it, recovery is chosen only when it cannot split the history:
 *   - the voters that are not gone for good cannot form a majority (otherwise they may
 *     come back and serve the old cluster beside the new one);
 *   - every survivor answered (its data was read, not guessed);
 *   - no other survivor is further ahead than member N (commit index, then last index).
 *
 * "Gone for good" is deliberately simple: the member's claim (its data) is deleted, or it
 * answers but lost its data (non-voting, catching up), or it has not answered for
 * `goneAfterMs`. A member that answers is never gone.
 */
import type { NodeId } from "../../raft/types.js";
import type { MemberProgressView } from "../types.js";
import { majority } from "./quorum.js";

export const RECOVER_ANNOTATION = "kvraft.io/recover-from-member";
/** How long a voter may be silent before it counts as gone for good, unless told otherwise. */
export const GONE_AFTER_MS_DEFAULT = 10 * 60_000;
/** Below a minute a restarting node or a slow volume attach would count as a lost member. */
export const GONE_AFTER_MS_BOUNDS = { min: 60_000, max: 7 * 24 * 3_600_000 } as const;

/** What a voter's /v1/status said, when it answered. */
export type SurvivorStatus = MemberProgressView;

/** What the controller knows of one voter of the last known configuration. */
export interface VoterEvidence {
  readonly id: NodeId;
  /** Its PersistentVolumeClaim exists (false: deleted, its data is gone). */
  readonly claimPresent: boolean;
  /** Its answer to /v1/status now; undefined: no answer. */
  readonly status?: SurvivorStatus;
  /** How long it has not answered (0 when it answers). */
  readonly silentForMs: number;
}

export interface QuorumLossInput {
  readonly voters: readonly VoterEvidence[];
  readonly goneAfterMs: number;
  /** The recover-from-member annotation's value, as written. */
  readonly annotation: string | undefined;
}

export type QuorumLossDecision =
  | { readonly kind: "QuorumHealthy" }
  /** A majority is silent but may come back: the usual wait, no recovery possible yet. */
  | { readonly kind: "QuorumUnreachable"; readonly message: string }
  /** Lost for good and no annotation: raise QuorumLost, do nothing else. */
  | { readonly kind: "QuorumLost"; readonly gone: readonly NodeId[]; readonly furthest: NodeId | undefined; readonly message: string }
  | { readonly kind: "RecoveryRefused"; readonly reason: RefusalReason; readonly message: string }
  | { readonly kind: "Recover"; readonly fromMember: NodeId; readonly gone: readonly NodeId[]; readonly commitIndex: number; readonly lastIndex: number; readonly message: string };

export type RefusalReason = "QuorumNotLost" | "InvalidAnnotation" | "NotASurvivor" | "SurvivorUnread" | "SurvivorAhead";

type Survivor = VoterEvidence & { readonly status: SurvivorStatus };

/** A voter that counts toward quorum now: it answers with its data. */
function isSurvivor(voter: VoterEvidence): voter is Survivor {
  return voter.status !== undefined && !voter.status.nonVoting;
}

/** Why a voter is gone for good, or undefined while it may come back. */
export function goneReason(voter: VoterEvidence, goneAfterMs: number): string | undefined {
  if (!voter.claimPresent) return "its claim is deleted";
  if (voter.status?.nonVoting === true) return "it lost its data (non-voting)";
  // The text stays the same from one look to the next: a changed message is a new Event.
  if (voter.status === undefined && voter.silentForMs >= goneAfterMs) return `silent for ${Math.round(goneAfterMs / 1000)} s or more`;
  return undefined;
}

/** Survivor a is further ahead than b: a higher commit index, then a longer log. */
function ahead(a: SurvivorStatus, b: SurvivorStatus): boolean {
  return a.commitIndex !== b.commitIndex ? a.commitIndex > b.commitIndex : a.lastIndex > b.lastIndex;
}

export function decideQuorumLoss(input: QuorumLossInput): QuorumLossDecision {
  const { voters, goneAfterMs, annotation } = input;
  const needed = majority(voters.length);
  const survivors = voters.filter(isSurvivor);
  const refuse = (reason: RefusalReason, message: string): QuorumLossDecision => ({ kind: "RecoveryRefused", reason, message: `${RECOVER_ANNOTATION}=${annotation ?? ""} refused: ${message}` });
  if (survivors.length >= needed) {
    return annotation === undefined ? { kind: "QuorumHealthy" } : refuse("QuorumNotLost", `${survivors.length} of ${voters.length} voters are healthy, a quorum: recovery would throw away a working cluster; remove the annotation`);
  }
  const gone = voters.filter((v) => goneReason(v, goneAfterMs) !== undefined);
  const mayReturn = voters.filter((v) => !isSurvivor(v) && goneReason(v, goneAfterMs) === undefined);
  if (voters.length - gone.length >= needed) {
    const message = `${voters.length - survivors.length} of ${voters.length} voters do not answer; member ${mayReturn.map((v) => v.id).join(",")} may come back (silent for less than ${Math.round(goneAfterMs / 1000)} s, claim present): waiting for them`;
    return annotation === undefined ? { kind: "QuorumUnreachable", message } : refuse("QuorumNotLost", `the quorum may come back, and the old cluster would serve beside the new one: ${message}`);
  }
  const furthest = [...survivors].sort((a, b) => (ahead(a.status, b.status) ? -1 : ahead(b.status, a.status) ? 1 : a.id - b.id))[0];
  const goneIds = gone.map((v) => v.id);
  if (annotation === undefined) return { kind: "QuorumLost", gone: goneIds, furthest: furthest?.id, message: quorumLostMessage(voters, gone, goneAfterMs, furthest) };
  return decideRecovery(annotation, voters, survivors, mayReturn, goneIds, refuse);
}

function decideRecovery(
  annotation: string, voters: readonly VoterEvidence[], survivors: readonly Survivor[], mayReturn: readonly VoterEvidence[],
  gone: readonly NodeId[], refuse: (reason: RefusalReason, message: string) => QuorumLossDecision,
): QuorumLossDecision {
  if (!/^[1-9]\d{0,8}$/.test(annotation)) return refuse("InvalidAnnotation", `"${annotation}" is not a member id (a whole number, 1 or more; pod NAME-i is member i+1)`);
  const id = Number(annotation);
  const chosen = survivors.find((v) => v.id === id);
  if (chosen === undefined) {
    const voter = voters.find((v) => v.id === id);
    const why = voter === undefined ? `member ${id} is not a voter (voters: ${voters.map((v) => v.id).join(",")})`
      : voter.status === undefined ? `member ${id} does not answer: its data cannot be read` : `member ${id} lost its data (non-voting)`;
    return refuse("NotASurvivor", `${why}; survivors: ${survivors.map((v) => v.id).join(",") || "none"}`);
  }
  const unread = mayReturn.filter((v) => v.status === undefined);
  if (unread.length > 0) return refuse("SurvivorUnread", `member ${unread.map((v) => v.id).join(",")} has not answered yet, so it is not known whether it is further ahead: wait until it answers or counts as gone`);
  const further = survivors.filter((v) => v.id !== id && ahead(v.status, chosen.status));
  if (further.length > 0) {
    const other = further[0] as Survivor;
    return refuse("SurvivorAhead", `member ${other.id} is further ahead (commit ${other.status.commitIndex}, last index ${other.status.lastIndex}) than member ${id} (commit ${chosen.status.commitIndex}, last index ${chosen.status.lastIndex}): recovering from ${id} would lose what only ${other.id} holds; annotate ${RECOVER_ANNOTATION}=${other.id}`);
  }
  return {
    kind: "Recover", fromMember: id, gone, commitIndex: chosen.status.commitIndex, lastIndex: chosen.status.lastIndex,
    message: `recovering from member ${id} (commit ${chosen.status.commitIndex}, last index ${chosen.status.lastIndex}) under a new cluster id; members ${gone.join(",")} are gone and will be replaced by new, empty members`,
  };
}

/** The Event's text: what happened, and each way out with what it loses. */
function quorumLostMessage(voters: readonly VoterEvidence[], gone: readonly VoterEvidence[], goneAfterMs: number, furthest: Survivor | undefined): string {
  const lost = gone.map((v) => `member ${v.id}: ${goneReason(v, goneAfterMs) ?? "?"}`).join("; ");
  const recover = furthest === undefined
    ? "no member kept its data: the only way out is a backup"
    : `or annotate ${RECOVER_ANNOTATION}=${furthest.id} (the survivor furthest ahead: commit ${furthest.status.commitIndex}, last index ${furthest.status.lastIndex}) to rebuild the cluster from it under a new cluster id, losing the writes acknowledged by the gone members that never reached it; old members are refused afterwards`;
  return `quorum lost for good: ${gone.length} of ${voters.length} voters are gone (${lost}). The operator changes nothing on its own. Restore a backup into a new cluster (spec.bootstrap.fromBackup), losing every write after the backup; ${recover}. See docs/DISASTER-RECOVERY.md`;
}
