/**
 * The operator's vocabulary, shared by its pure parts (desired manifests, the planner,
 * status) and its IO part (the controller that talks to the Kubernetes API and to the
 * servers' admin API). The pure parts take these values in and give values out; only
 * the controller turns them into API calls.
 */
import type { NodeId } from "../raft/types.js";
import type { BootstrapSpec, BootstrapStatus } from "./bootstrap-types.js";

export const API_GROUP = "kvraft.io";
export const API_VERSION = "v1alpha1";
export const KIND = "KVRaftCluster";
export const PLURAL = "kvraftclusters";
/** `kvraft.io/paused: "true"` on a cluster stops the operator reconciling it. */
export const PAUSE_ANNOTATION = "kvraft.io/paused";

export type RetentionPolicy = "Retain" | "Delete";
export type ClusterPhase = "Pending" | "Creating" | "Running" | "Scaling" | "Updating" | "Degraded" | "Failed";

/** A Kubernetes object in the operator's hands: plain data, as the API serialises it. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly [field: string]: unknown;
}

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly resourceVersion?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerReference[];
  readonly deletionTimestamp?: string;
  readonly creationTimestamp?: string;
}

export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

/** spec of a KVRaftCluster, after the API server applied the CRD's defaults. */
export interface ClusterSpec {
  readonly replicas: number;
  readonly image: string;
  readonly imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  readonly storage: {
    readonly size: string;
    readonly storageClassName?: string;
    /** A full PVC spec; when given it wins over size and storageClassName. */
    readonly volumeClaimTemplate?: Readonly<Record<string, unknown>>;
  };
  readonly pvcRetention?: { readonly whenDeleted?: RetentionPolicy; readonly whenScaled?: RetentionPolicy };
  readonly resources?: Readonly<Record<string, unknown>>;
  readonly affinity?: Readonly<Record<string, unknown>>;
  readonly tolerations?: readonly Readonly<Record<string, unknown>>[];
  readonly topologySpreadConstraints?: readonly Readonly<Record<string, unknown>>[];
  readonly priorityClassName?: string;
  readonly podLabels?: Readonly<Record<string, string>>;
  readonly podAnnotations?: Readonly<Record<string, string>>;
  readonly raft?: { readonly heartbeatMs?: number; readonly electionMs?: number };
  readonly coordinator?: { readonly replicas?: number; readonly resources?: Readonly<Record<string, unknown>> };
  readonly service?: { readonly type?: "ClusterIP" | "NodePort" | "LoadBalancer" };
  readonly monitoring?: MonitoringSpec;
  readonly networkPolicy?: NetworkPolicySpec;
  readonly tls?: TlsSpec;
  /** Found the cluster from a backup (bootstrap-types.ts); immutable. */
  readonly bootstrap?: BootstrapSpec;
}

/**
 * TLS on every port of the servers (spec.tls), with a CA and certificates the operator
 * makes and renews itself (src/operator/controller/cluster-tls.ts).
 */
export interface TlsSpec {
  /** Serve TLS (default true). */
  readonly enabled?: boolean;
  /** Lifetime of each member's certificate in days (default 365). */
  readonly certificateValidDays?: number;
  /** A certificate (or the CA) is reissued this many days before it expires (default 30). */
  readonly renewBeforeDays?: number;
}

/**
 * Prometheus scraping the servers' and the coordinator's /metrics (spec.monitoring).
 */
export interface MonitoringSpec {
  /** Make PodMonitors for the servers and the coordinator (when the Prometheus operator's CRD is installed). */
  readonly podMonitor?: boolean;
  /** Labels put on the PodMonitors, so a Prometheus's podMonitorSelector picks them (kube-prometheus-stack: release: <its release>). */
  readonly podMonitorLabels?: Readonly<Record<string, string>>;
  /**
   * Namespaces whose pods may scrape the metrics ports, each by name or by labels. Absent:
   * the operator's monitoring namespace (`monitoring`), and only while PodMonitors are made.
   */
  readonly allowedNamespaces?: readonly NamespaceSource[];
  /** Only pods with all these labels, in those namespaces, may scrape. Absent or empty: every pod there. */
  readonly allowedPodLabels?: Readonly<Record<string, string>>;
}

/**
 * Who may reach the cluster's pods (spec.networkPolicy). The peer port is only ever open
 * to the cluster's own servers and the admin port to them and the operator; these
 * fields choose the clients of the client ports (HTTP, binary, memcached) and of the
 * coordinator.
 */
export interface NetworkPolicySpec {
  /** Make the NetworkPolicies (default true). false deletes the ones the operator made. */
  readonly enabled?: boolean;
  /** Namespaces whose pods are clients, each by name or by labels. Default: the cluster's own namespace only. */
  readonly allowedNamespaces?: readonly NamespaceSource[];
  /** Only pods with all these labels, in those namespaces, are clients. Default: every pod there. */
  readonly allowedPodLabels?: Readonly<Record<string, string>>;
}

/** One namespace by name, or the namespaces whose labels match (an empty matchLabels matches every namespace). */
export interface NamespaceSource {
  readonly name?: string;
  readonly matchLabels?: Readonly<Record<string, string>>;
}

export interface Condition {
  /** QuorumLost is present only once a quorum was lost for good (planner/quorum-loss.ts); Bootstrapped only for a cluster founded from a backup. */
  readonly type: "Available" | "Progressing" | "Degraded" | "QuorumLost" | "Bootstrapped";
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

export interface MemberView {
  readonly id: NodeId;
  readonly pod: string;
  readonly role: "voter" | "learner";
  readonly healthy: boolean;
  readonly lag?: number;
}

export interface ClusterStatus {
  readonly observedGeneration?: number;
  readonly phase?: ClusterPhase;
  readonly reason?: string;
  readonly conditions?: readonly Condition[];
  readonly replicas?: number;
  readonly readyReplicas?: number;
  readonly selector?: string;
  /** Set once the first configuration has formed; from then on every pod starts with `existing`. */
  readonly formed?: boolean;
  readonly leader?: { readonly id: NodeId; readonly pod: string };
  readonly term?: number;
  readonly commitIndex?: number;
  readonly members?: readonly MemberView[];
  /** How the cluster was founded from spec.bootstrap.fromBackup. */
  readonly bootstrap?: BootstrapStatus;
  /** The last recovery from a surviving member (kvraft.io/recover-from-member), once asked for and accepted. */
  readonly recovery?: RecoveryStatus;
}

/**
 * A quorum-loss recovery the operator carries out: written before anything changes, so
 * an operator that restarts mid-way goes on with the same member and the same new id.
 */
export interface RecoveryStatus {
  /** Rebuilding: pods restart under the new id; Completed: the survivor leads the new cluster. */
  readonly phase: "Rebuilding" | "Completed";
  readonly fromMember: NodeId;
  /** The cluster id of the history left behind; its members are refused from now on. */
  readonly fromClusterId: string;
  /** The new cluster id: the configuration epoch every member carries from now on. */
  readonly clusterId: string;
  /** The survivor's commit and last index when the recovery was accepted. */
  readonly commitIndex: number;
  readonly lastIndex: number;
  readonly startedAt: string;
  readonly completedAt?: string;
  readonly message: string;
}

export interface KVRaftCluster extends KubeObject {
  readonly spec: ClusterSpec;
  readonly status?: ClusterStatus;
}

/** Pod `NAME-i` is member i+1. */
export function memberIdOfOrdinal(ordinal: number): NodeId {
  return ordinal + 1;
}

export function ordinalOfMember(id: NodeId): number {
  return id - 1;
}

/** What the controller observed of one server pod (from the informer cache). */
export interface PodView {
  readonly ordinal: number;
  readonly name: string;
  readonly phase: string;
  readonly ready: boolean;
  /** The pod is being deleted or has restarted: never a reason to change membership. */
  readonly terminating: boolean;
  readonly restartCount: number;
  /** The StatefulSet revision the pod runs (controller-revision-hash). */
  readonly revision?: string;
  /** The cluster id its server was started with (KVRAFT_CLUSTER_ID in its spec). */
  readonly clusterId?: string;
}

/** What the servers' admin API said of the membership, from the member that answered. */
export interface MembershipView {
  readonly leaderId: NodeId;
  readonly term: number;
  readonly commitIndex: number;
  readonly members: readonly {
    readonly id: NodeId;
    readonly role: "voter" | "learner";
    /** The leader heard it lately. */
    readonly healthy: boolean;
    readonly lag?: number;
    /** The highest index it acknowledged, as the leader knows it. */
    readonly matchIndex?: number;
    /** It answered the leader at least once (a member that never ran has not). */
    readonly acknowledged?: boolean;
    /** It came back with an empty disk and waits, non-voting, to catch up (its volume was lost). */
    readonly nonVoting?: boolean;
  }[];
}

export interface StatefulSetView {
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly currentRevision?: string;
  readonly updateRevision?: string;
  /** RollingUpdate partition: pods with ordinal >= partition run the update revision. */
  readonly partition?: number;
}

/** Everything the planner decides from. Membership is undefined when no server answered. */
export interface PlannerInput {
  readonly cluster: KVRaftCluster;
  readonly statefulSet?: StatefulSetView;
  readonly pods: readonly PodView[];
  readonly membership?: MembershipView;
}

/**
 * The planner's answer: the single next step. At most one membership change is in flight
 * at a time: the controller carries out one step, observes again, and asks again.
 */
export type PlanStep =
  | { readonly kind: "Create" } // first reconcile of a new cluster: apply every manifest
  | { readonly kind: "AddLearner"; readonly memberId: NodeId; readonly reason: string }
  | { readonly kind: "ScaleStatefulSet"; readonly replicas: number; readonly reason: string }
  | { readonly kind: "PromoteLearner"; readonly memberId: NodeId; readonly reason: string }
  | { readonly kind: "TransferLeader"; readonly from: NodeId; readonly to: NodeId; readonly reason: string }
  | { readonly kind: "RemoveMember"; readonly memberId: NodeId; readonly reason: string }
  | { readonly kind: "SetPartition"; readonly partition: number; readonly reason: string }
  | { readonly kind: "DeletePod"; readonly pod: string; readonly reason: string }
  | { readonly kind: "Wait"; readonly reason: string }
  | { readonly kind: "Refuse"; readonly reason: string; readonly message: string }
  | { readonly kind: "Done" };

/** The admin API as the controller uses it (implemented over HTTP; a double in tests). */
export interface AdminApi {
  members(): Promise<MembershipView>;
  addLearner(id: NodeId): Promise<void>;
  promote(id: NodeId): Promise<void>;
  remove(id: NodeId): Promise<void>;
  transferLeadership(to: NodeId): Promise<void>;
  /**
   * Every member's own /v1/status, by member id (members of another cluster and members
   * that do not answer are left out): read only when the quorum is lost (planner/quorum-loss.ts).
   */
  memberStatuses?(): Promise<ReadonlyMap<NodeId, MemberProgressView>>;
}

/** How far one member's own log and commit index got, from its /v1/status. */
export interface MemberProgressView {
  readonly commitIndex: number;
  readonly lastIndex: number;
  readonly term: number;
  /** It lost its data and waits to be caught up: its log is not a whole history. */
  readonly nonVoting: boolean;
}
