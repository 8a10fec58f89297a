import type { NodeId } from "../../raft/types.js";
import { DATA_VOLUME } from "../desired/server-pod.js";
import { objectNames } from "../desired/index.js";
import { decideQuorumLoss, RECOVER_ANNOTATION, type QuorumLossDecision, type SurvivorStatus } from "../planner/quorum-loss.js";
import type { AdminApi, KubeObject, KVRaftCluster, MembershipView } from "../types.js";
import { ordinalOfMember } from "../types.js";

/**
 * The evidence for decideQuorumLoss (planner/quorum-loss.ts), gathered when the planner
 * found no quorum: the last known voters, their claims, and each one's /v1/status. How
 * long a voter has been silent is kept here, in memory: an operator that restarts starts
 * counting again, which delays a QuorumLost and never hastens it.
 */
export class QuorumWatch {
  /** Per cluster key: when each voter was first seen silent (ms since the epoch). */
  private readonly silentSinceMs = new Map<string, Map<NodeId, number>>();

  constructor(private readonly goneAfterMs: number, private readonly clock: () => number = Date.now) {}

  async decide(key: string, cluster: KVRaftCluster, membership: MembershipView | undefined, admin: AdminApi, claims: readonly KubeObject[]): Promise<QuorumLossDecision | undefined> {
    const voters = lastKnownVoters(cluster, membership);
    if (voters.length === 0 || admin.memberStatuses === undefined) return undefined;
    const statuses = await admin.memberStatuses();
    const now = this.clock();
    const silent = this.silentSinceMs.get(key) ?? new Map<NodeId, number>();
    this.silentSinceMs.set(key, silent);
    const setName = objectNames(cluster.metadata.name).statefulSet;
    const claimNames = new Set(claims.filter((c) => c.metadata.deletionTimestamp === undefined).map((c) => c.metadata.name));
    const evidence = voters.map((id) => {
      const status: SurvivorStatus | undefined = statuses.get(id);
      if (status !== undefined) silent.delete(id);
      else if (!silent.has(id)) silent.set(id, now);
      return {
        id, claimPresent: claimNames.has(`${DATA_VOLUME}-${setName}-${ordinalOfMember(id)}`),
        ...(status === undefined ? {} : { status }), silentForMs: status === undefined ? now - (silent.get(id) ?? now) : 0,
      };
    });
    return decideQuorumLoss({ voters: evidence, goneAfterMs: this.goneAfterMs, annotation: cluster.metadata.annotations?.[RECOVER_ANNOTATION] });
  }

  /** The quorum is back (or the cluster is gone): forget the silences. */
  forget(key: string): void {
    this.silentSinceMs.delete(key);
  }
}

/** The voters the answering members name, or those the status last recorded when they name none (all came back empty). */
function lastKnownVoters(cluster: KVRaftCluster, membership: MembershipView | undefined): NodeId[] {
  const voters = (members: readonly { id: NodeId; role: string }[] | undefined): NodeId[] => (members ?? []).filter((m) => m.role === "voter").map((m) => m.id);
  const named = voters(membership?.members);
  return named.length > 0 ? named : voters(cluster.status?.members);
}

/**
 * What a decision tells the user: the QuorumLost condition's reason and message, also
 * recorded as a Warning Event when it changes; undefined while nothing is lost for good.
 */
export function quorumLossNotice(decision: QuorumLossDecision | undefined): { readonly reason: string; readonly message: string } | undefined {
  switch (decision?.kind) {
    case "QuorumLost":
    case "RecoveryRefused":
      return { reason: decision.kind, message: decision.message };
    case "Recover":
      // Carried out from the next reconcile on (controller/recovery-driver.ts).
      return { reason: "Recovering", message: decision.message };
    default:
      return undefined;
  }
}
