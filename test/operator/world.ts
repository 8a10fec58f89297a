/**
 * A small model of what the planner acts on: membership, the StatefulSet and its pods.
 * Planner steps change it as the controller and the servers would; the environment
 * (pods starting, learners catching up, crashes, lost volumes, new wishes) changes it
 * too. apply() reports every broken safety rule, so property tests can run a planner
 * against random histories and look for violations.
 */
import { majority, PROMOTION_COMMIT_LAG_ENTRIES_MAX } from "../../src/operator/planner/index.js";
import type { NodeId } from "../../src/raft/types.js";
import type { KVRaftCluster, MembershipView, PlannerInput, PlanStep, PodView } from "../../src/operator/types.js";
import { memberIdOfOrdinal, ordinalOfMember } from "../../src/operator/types.js";
import { makeCluster } from "./fixtures.js";

export interface WorldMember { role: "voter" | "learner"; lag: number; nonVoting: boolean }
export interface WorldPod { revision: string; up: boolean; terminating: boolean; restartCount: number }

const NEW_LEARNER_LAG = 5000;

export class World {
  readonly members = new Map<NodeId, WorldMember>();
  readonly pods = new Map<number, WorldPod>();
  leader: NodeId = 0;
  target: number;
  stsReplicas: number;
  updateRevision = "r1";
  generation = 1;

  /** A formed, healthy cluster of `size` voters on revision r1. */
  constructor(size: number) {
    this.target = size;
    this.stsReplicas = size;
    for (let ordinal = 0; ordinal < size; ordinal++) {
      this.members.set(memberIdOfOrdinal(ordinal), { role: "voter", lag: 0, nonVoting: false });
      this.pods.set(ordinal, { revision: "r1", up: true, terminating: false, restartCount: 0 });
    }
    this.leader = 1;
  }

  cluster(): KVRaftCluster {
    const base = makeCluster({ replicas: this.target }, { formed: true });
    return { ...base, metadata: { ...base.metadata, generation: this.generation } };
  }

  healthy(id: NodeId): boolean {
    const member = this.members.get(id);
    const pod = this.pods.get(ordinalOfMember(id));
    return member !== undefined && !member.nonVoting && pod !== undefined && pod.up && !pod.terminating;
  }

  voters(): NodeId[] {
    return [...this.members].filter(([, m]) => m.role === "voter").map(([id]) => id).sort((a, b) => a - b);
  }

  learners(): NodeId[] {
    return [...this.members].filter(([, m]) => m.role === "learner").map(([id]) => id);
  }

  hasQuorum(): boolean {
    const voters = this.voters();
    return voters.filter((id) => this.healthy(id)).length >= majority(voters.length);
  }

  membershipView(): MembershipView | undefined {
    if (this.leader === 0) return undefined;
    return {
      leaderId: this.leader, term: 1, commitIndex: 100,
      members: [...this.members].map(([id, m]) => ({ id, role: m.role, healthy: this.healthy(id), lag: m.lag, nonVoting: m.nonVoting })),
    };
  }

  podViews(): PodView[] {
    return [...this.pods].map(([ordinal, p]) => ({
      ordinal, name: `kv-${ordinal}`, phase: "Running", ready: p.up && !p.terminating, terminating: p.terminating,
      restartCount: p.restartCount, revision: p.revision,
    })).sort((a, b) => a.ordinal - b.ordinal);
  }

  input(): PlannerInput {
    const membership = this.membershipView();
    const readyReplicas = this.podViews().filter((p) => p.ready).length;
    return {
      cluster: this.cluster(),
      statefulSet: { replicas: this.stsReplicas, readyReplicas, currentRevision: "r1", updateRevision: this.updateRevision },
      pods: this.podViews(),
      ...(membership === undefined ? {} : { membership }),
    };
  }

  /** Carries out a planner step; returns the safety rules it broke (none, for a correct planner). */
  apply(step: PlanStep): string[] {
    const violations: string[] = [];
    const quorumBefore = this.hasQuorum();
    const learners = this.learners();
    const inFlight = (id: NodeId): void => {
      if (learners.length > 0 && !learners.includes(id)) violations.push(`one change in flight: ${step.kind} ${id} while learner ${learners.join(",")} is pending`);
    };
    switch (step.kind) {
      case "AddLearner":
        if (learners.length > 0) violations.push(`one change in flight: AddLearner ${step.memberId} while learner ${learners.join(",")} is pending`);
        if (this.members.has(step.memberId)) violations.push(`AddLearner ${step.memberId}: already a member`);
        this.members.set(step.memberId, { role: "learner", lag: NEW_LEARNER_LAG, nonVoting: false });
        break;
      case "PromoteLearner": {
        inFlight(step.memberId);
        const member = this.members.get(step.memberId);
        if (member?.role !== "learner") violations.push(`learner before voter: PromoteLearner ${step.memberId}, which is not a learner`);
        else if (!this.healthy(step.memberId) || member.lag > PROMOTION_COMMIT_LAG_ENTRIES_MAX) violations.push(`learner before voter: promoted ${step.memberId} before it caught up (lag ${member.lag})`);
        if (member !== undefined) member.role = "voter";
        break;
      }
      case "RemoveMember":
        inFlight(step.memberId);
        if (step.memberId === this.leader) violations.push(`removed the leader ${step.memberId} without handing leadership over first`);
        if (!this.members.has(step.memberId)) violations.push(`RemoveMember ${step.memberId}: not a member`);
        if (this.members.get(step.memberId)?.role === "voter" && ordinalOfMember(step.memberId) < this.target && this.members.get(step.memberId)?.nonVoting !== true) {
          violations.push(`removed member ${step.memberId}, which is wanted and kept its data (a restart is not a scale-in)`);
        }
        this.members.delete(step.memberId);
        break;
      case "ScaleStatefulSet": {
        const cut = [...this.members.keys()].filter((id) => ordinalOfMember(id) >= step.replicas && ordinalOfMember(id) < this.stsReplicas);
        if (cut.length > 0) violations.push(`remove before shrink: StatefulSet shrunk to ${step.replicas} while member(s) ${cut.join(",")} still live there`);
        this.stsReplicas = step.replicas;
        for (const ordinal of [...this.pods.keys()]) if (ordinal >= step.replicas) this.pods.delete(ordinal);
        break;
      }
      case "TransferLeader":
        if (step.from !== this.leader) violations.push(`TransferLeader from ${step.from}, but ${this.leader} leads`);
        if (this.members.get(step.to)?.role !== "voter" || !this.healthy(step.to)) violations.push(`TransferLeader to ${step.to}, not a healthy voter`);
        else this.leader = step.to;
        break;
      case "DeletePod": {
        const ordinal = Number(/-(\d+)$/.exec(step.pod)?.[1]);
        const pod = this.pods.get(ordinal);
        if ([...this.pods.values()].some((p) => p.terminating)) violations.push(`DeletePod ${step.pod} while another pod is shutting down`);
        if (memberIdOfOrdinal(ordinal) === this.leader && this.voters().length > 1) violations.push(`DeletePod ${step.pod}: restarted the leader without handing leadership over`);
        if (pod !== undefined) pod.terminating = true;
        break;
      }
      case "SetPartition":
        violations.push("SetPartition: the StatefulSet is OnDelete, partitions are not used");
        break;
      case "Create":
        violations.push("Create for a StatefulSet that exists");
        break;
      case "Wait": case "Refuse": case "Done":
        break;
    }
    const singleMemberRestart = step.kind === "DeletePod" && this.voters().length === 1;
    if (quorumBefore && !this.hasQuorum() && !singleMemberRestart) violations.push(`never below quorum: ${step.kind} left ${this.voters().filter((id) => this.healthy(id)).length} of ${this.voters().length} voters healthy`);
    return violations;
  }

  /** Everything that was under way finishes: pods (re)start, learners catch up, a leader is elected. */
  settle(): void {
    for (const [ordinal, pod] of this.pods) {
      if (pod.terminating) this.pods.set(ordinal, { revision: this.updateRevision, up: false, terminating: false, restartCount: 0 });
      else pod.up = true;
    }
    for (let ordinal = 0; ordinal < this.stsReplicas; ordinal++) {
      if (!this.pods.has(ordinal)) this.pods.set(ordinal, { revision: this.updateRevision, up: false, terminating: false, restartCount: 0 });
    }
    // A learner whose pod runs catches up (one that came back empty is sent a snapshot).
    for (const [id, member] of this.members) {
      if (member.role === "learner" && this.pods.get(ordinalOfMember(id))?.up === true) Object.assign(member, { lag: 0, nonVoting: false });
    }
    this.elect();
  }

  /** A leader that is down or gone is replaced by a healthy voter while a quorum is healthy. */
  elect(): void {
    if (this.leader !== 0 && this.members.get(this.leader)?.role === "voter" && this.healthy(this.leader)) return;
    const candidates = this.voters().filter((id) => this.healthy(id));
    this.leader = this.hasQuorum() && candidates.length > 0 ? (candidates[0] as NodeId) : 0;
  }

  /** A pod's container crashes and restarts (its data kept). */
  crash(ordinal: number): void {
    const pod = this.pods.get(ordinal);
    if (pod === undefined) return;
    pod.up = false;
    pod.restartCount++;
    this.elect();
  }

  /** A follower's pod comes back with an empty volume: it waits, non-voting, to be re-added. */
  wipe(ordinal: number): void {
    const id = memberIdOfOrdinal(ordinal);
    const member = this.members.get(id);
    if (member === undefined || id === this.leader) return;
    member.nonVoting = true;
    this.crash(ordinal);
  }

  /** Someone (a node drain, kubectl) deletes a pod: the StatefulSet makes it again. */
  evict(ordinal: number): void {
    const pod = this.pods.get(ordinal);
    if (pod !== undefined) pod.terminating = true;
    this.elect();
  }

  setTarget(replicas: number): void {
    this.target = replicas;
    this.generation++;
  }

  newRevision(): void {
    this.updateRevision = `r${Number(this.updateRevision.slice(1)) + 1}`;
    this.generation++;
  }
}
