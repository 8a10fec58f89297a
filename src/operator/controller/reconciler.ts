import type { Logger } from "pino";
import { invariant, InvariantError } from "../../assert/invariant.js";
import { OwnershipConflictError } from "../errors.js";
import { desiredObjects, objectNames } from "../desired/index.js";
import { dataClaimName } from "../desired/statefulset.js";
import type { ClientTokens, DesiredOptions } from "../desired/index.js";
import { planNextStep } from "../planner/index.js";
import { Membership } from "../planner/quorum.js";
import { GONE_AFTER_MS_DEFAULT, RECOVER_ANNOTATION, type QuorumLossDecision } from "../planner/quorum-loss.js";
import { computeStatus } from "../status.js";
import { PAUSE_ANNOTATION } from "../types.js";
import type { AdminApi, ClusterPhase, KVRaftCluster, KubeObject, MembershipView, PlannerInput, PlanStep, PodView, StatefulSetView } from "../types.js";
import { tlsSettings } from "../desired/spec-defaults.js";
import { readAdminToken, SECRET_TYPE } from "./admin-token.js";
import { readClientTokens } from "./client-tokens.js";
import type { ClientTokensRead } from "./client-tokens.js";
import { readClusterTls } from "./cluster-tls.js";
import type { ClusterTls } from "./cluster-tls.js";
import { applyObject, applyStatus, deleteObject } from "./applier.js";
import { BootstrapGate } from "./bootstrap-gate.js";
import { needsApply, needsStatusWrite } from "./apply-decision.js";
import type { EventRecorder } from "./events.js";
import type { KubeRest } from "./kube-rest.js";
import { isNotFound, KubeApiError } from "./kube-rest.js";
import { failpointAfter, hitFailpoint } from "./failpoint.js";
import { POD_MONITOR_TYPE } from "./informers.js";
import type { OperatorMetrics } from "./metrics.js";
import { podViews, statefulSetView } from "./observe.js";
import type { ResourceType } from "./resources.js";
import { CLUSTER_TYPE, objectPath, resourceTypeOf } from "./resources.js";
import { changesSomething, eventForStep } from "./step-events.js";
import { claimsToGrow } from "./volumes.js";
import { QuorumWatch, quorumLossNotice } from "./quorum-watch.js";
import { RecoveryDriver, startedRecovery } from "./recovery-driver.js";

/** How soon a cluster is looked at again, by what the last step was. */
export const REQUEUE_MS = { afterChange: 500, waiting: 2_000, settled: 30_000 } as const;

export interface ObjectCache {
  get(t: ResourceType, namespace: string, name: string): KubeObject | undefined;
  list(t: ResourceType, namespace: string): KubeObject[];
  /** Whether an informer keeps this kind up to date (undefined: assume it does). */
  watches?(t: ResourceType): boolean;
  /** An object the operator just wrote, as the API server returned it (read back until the informer has it). */
  remember?(t: ResourceType, written: KubeObject): void;
}

export interface ReconcilerDeps {
  readonly rest: KubeRest;
  readonly cache: ObjectCache;
  readonly events: EventRecorder;
  readonly metrics: OperatorMetrics;
  /** The admin API of one cluster (over HTTP in production, pointed at a double in tests). */
  readonly adminFor: (cluster: KVRaftCluster, token: string, pods: readonly PodView[], caPem?: string) => AdminApi;
  readonly desired: Pick<DesiredOptions, "operator" | "clusterDomain" | "monitoringNamespace">;
  readonly podMonitorAvailable: () => Promise<boolean>;
  readonly failpoints: ReadonlySet<string>;
  readonly log: Logger;
  /** How long a silent voter takes to count as gone for good (GONE_AFTER_MS_DEFAULT when not given). */
  readonly quorumGoneAfterMs?: number;
}

export interface ReconcileResult {
  /** Look at the cluster again after this long (undefined: only when something changes). */
  readonly requeueAfterMs?: number;
  readonly step?: PlanStep;
  readonly phase?: ClusterPhase;
}

const STATEFUL_SET = resourceTypeOf("apps/v1", "StatefulSet");
const POD = resourceTypeOf("v1", "Pod");
const NETWORK_POLICY = resourceTypeOf("networking.k8s.io/v1", "NetworkPolicy");
const CLAIM = resourceTypeOf("v1", "PersistentVolumeClaim");

/**
 * One reconcile of one cluster: observe (CR, StatefulSet, pods, membership), apply the
 * desired objects that changed, ask the planner for the single next step, carry it out,
 * then write the status and the Events. Safe to run any number of times: with nothing
 * changed it writes nothing.
 */
export class Reconciler {
  private readonly paused = new Set<string>();
  private readonly phases = new Map<string, ClusterPhase>();
  /** The admin token last used for each cluster (by key, for the uid it had): written again if its Secret is deleted. */
  private readonly tokens = new Map<string, { readonly uid: string | undefined; readonly token: string }>();
  /** The client tokens last used for each cluster, likewise. */
  private readonly clientTokens = new Map<string, { readonly uid: string | undefined; readonly tokens: ClientTokens }>();

  /** Evidence of a quorum lost for good, and the recover-from-member annotation's verdict. */
  private readonly quorumWatch: QuorumWatch;
  /** Holds back a cluster founded from a backup until its first member's data is restored. */
  private readonly bootstrap: BootstrapGate;
  /** Carries out a quorum-loss recovery once accepted and recorded. */
  private readonly recovery: RecoveryDriver;

  constructor(private readonly deps: ReconcilerDeps) {
    this.quorumWatch = new QuorumWatch(deps.quorumGoneAfterMs ?? GONE_AFTER_MS_DEFAULT);
    this.bootstrap = new BootstrapGate({ ...deps, remember: (written) => deps.cache.remember?.(CLUSTER_TYPE, written) });
    this.recovery = new RecoveryDriver({
      rest: deps.rest, events: deps.events,
      livePod: (namespace, name) => deps.cache.get(POD, namespace, name),
      remember: (written) => deps.cache.remember?.(CLUSTER_TYPE, written),
    });
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = splitKey(key);
    const cached = this.deps.cache.get(CLUSTER_TYPE, namespace, name) as KVRaftCluster | undefined;
    if (cached === undefined) {
      // Deleted: the garbage collector removes what it owned (ownerReferences); PVCs follow the StatefulSet's retention policy.
      this.forget(key);
      return {};
    }
    // Items of a LIST may come without apiVersion and kind; Events and owner references need them.
    const cluster: KVRaftCluster = { ...cached, apiVersion: CLUSTER_TYPE.apiVersion, kind: CLUSTER_TYPE.kind };
    if (cluster.metadata.deletionTimestamp !== undefined) return {};
    if (cluster.metadata.annotations?.[PAUSE_ANNOTATION] === "true") return this.pause(key, cluster);
    if (this.paused.delete(key)) await this.deps.events.record(cluster, { type: "Normal", reason: "Resumed", message: `the ${PAUSE_ANNOTATION} annotation is gone: reconciling again` });

    const held = await this.bootstrap.hold(cluster, this.deps.cache.get(STATEFUL_SET, namespace, objectNames(name).statefulSet) !== undefined);
    if (held !== undefined) {
      await this.notePhase(key, cluster, held.phase, undefined);
      return { phase: held.phase, ...(held.requeueAfterMs === undefined ? {} : { requeueAfterMs: held.requeueAfterMs }) };
    }

    const observed = await this.observe(cluster);
    // While a recovery rebuilds the cluster, it alone acts: the planner's membership
    // steps wait until the survivor leads the new cluster.
    const rebuilding = cluster.status?.recovery?.phase === "Rebuilding" ? cluster.status.recovery : undefined;
    let step = rebuilding === undefined ? planNextStep(observed.input) : { kind: "Wait" as const, reason: `Recovering: ${rebuilding.message}` };
    const log = this.deps.log.child({ cluster: key });
    log.debug({ step }, `next step: ${step.kind}`);

    const serverReplicas = step.kind === "ScaleStatefulSet" ? step.replicas : observed.input.statefulSet?.replicas;
    await this.applyDesired(cluster, observed.token, observed.secret, observed.clientTokens, observed.tls, serverReplicas, observed.input.statefulSet, observed.liveClaimTemplates);
    if (observed.clientTokens.replaced.length > 0) {
      await this.deps.events.record(cluster, { type: "Warning", reason: "ClientTokensReplaced", message: `${objectNames(name).clientTokensSecret}: ${observed.clientTokens.replaced.join("; ")}` });
    }
    if (observed.tls !== undefined && observed.tls.renewals.length > 0) {
      await this.deps.events.record(cluster, { type: "Normal", reason: "CertificatesRenewed", message: observed.tls.renewals.join("; ") });
    }
    if (observed.input.statefulSet !== undefined) await this.growVolumes(cluster, observed.input.statefulSet.replicas);
    let recovery = cluster.status?.recovery;
    if (rebuilding === undefined) await this.carryOut(step, cluster, observed.admin, observed.input.pods);
    else {
      const advanced = await this.recovery.advance(cluster, rebuilding, observed.input.pods, observed.input.membership, new Date().toISOString());
      recovery = advanced.recovery;
      step = { kind: "Wait", reason: `Recovering: ${advanced.reason}` };
    }
    this.deps.metrics.steps.inc({ kind: step.kind });
    if (step.kind !== "Wait" && step.kind !== "Done") log.info({ step }, describeStep(step));
    const event = eventForStep(step, name, observed.input.statefulSet?.replicas);
    if (event !== undefined) await this.deps.events.record(cluster, event);
    hitFailpoint(failpointAfter(step.kind), this.deps.failpoints);

    const now = new Date().toISOString();
    const loss = rebuilding === undefined ? await this.noticeQuorumLoss(key, cluster, observed.input, observed.admin) : undefined;
    const started = loss?.decision.kind === "Recover" ? startedRecovery(cluster, loss.decision, now) : undefined;
    recovery = started ?? recovery;
    const quorumLoss = recovery?.phase === "Rebuilding" ? { reason: "Recovering", message: recovery.message } : loss?.notice;
    const status = computeStatus({
      ...observed.input, step, now, ...(quorumLoss === undefined ? {} : { quorumLoss }), ...(recovery === undefined ? {} : { recovery }),
    }, cluster.status);
    if (needsStatusWrite(status, cluster.status)) {
      try {
        // Written first: an optional call would skip its arguments, the write with them, when the cache remembers nothing.
        const written = await applyStatus(this.deps.rest, cluster, status);
        this.deps.cache.remember?.(CLUSTER_TYPE, written);
      } catch (error) {
        // Deleted while being reconciled: nothing is left to report on.
        if (isNotFound(error)) return {};
        throw error;
      }
      this.deps.metrics.writes.inc({ kind: "KVRaftClusterStatus" });
    }
    if (started !== undefined) {
      // Recorded: from the next reconcile on the desired objects carry the new id.
      await this.deps.events.record(cluster, { type: "Warning", reason: "RecoveryStarted", message: started.message });
      await this.recovery.consumeAnnotation(cluster);
    }
    await this.notePhase(key, cluster, status.phase, status.reason);
    return { step, ...(status.phase === undefined ? {} : { phase: status.phase }), requeueAfterMs: requeueAfter(step) };
  }

  /**
   * Without a quorum (or with the recover-from-member annotation), whether the quorum is
   * lost for good, and what to tell. On its own the operator changes nothing
   * (planner/quorum-loss.ts); a recovery the annotation asked for and the checks accepted
   * is started by the caller.
   */
  private async noticeQuorumLoss(key: string, cluster: KVRaftCluster, input: PlannerInput, admin: AdminApi): Promise<{ readonly notice: { reason: string; message: string } | undefined; readonly decision: QuorumLossDecision } | undefined> {
    const asked = cluster.metadata.annotations?.[RECOVER_ANNOTATION] !== undefined;
    const quorum = input.membership !== undefined && new Membership(input.membership).hasQuorum();
    if (input.statefulSet === undefined || cluster.status?.formed !== true || (quorum && !asked)) {
      this.quorumWatch.forget(key);
      return undefined;
    }
    const claims = this.deps.cache.list(CLAIM, cluster.metadata.namespace ?? "default");
    const decision = await this.quorumWatch.decide(key, cluster, input.membership, admin, claims);
    if (decision === undefined) return undefined;
    const notice = quorumLossNotice(decision);
    const before = cluster.status.conditions?.find((c) => c.type === "QuorumLost");
    // A recovery accepted gets its own Event (RecoveryStarted) once it is recorded.
    if (notice !== undefined && decision.kind !== "Recover" && (before?.status !== "True" || before.message !== notice.message)) {
      await this.deps.events.record(cluster, { type: "Warning", ...notice });
    }
    return { notice, decision };
  }

  private async observe(cluster: KVRaftCluster): Promise<{
    input: PlannerInput; token: string; secret: KubeObject | undefined; clientTokens: ClientTokensRead; tls: ClusterTls | undefined; admin: AdminApi;
    liveClaimTemplates?: readonly Readonly<Record<string, unknown>>[];
  }> {
    const namespace = cluster.metadata.namespace ?? "default";
    const names = objectNames(cluster.metadata.name);
    const set = this.deps.cache.get(STATEFUL_SET, namespace, names.statefulSet);
    const ownedSet = set !== undefined && set.metadata.ownerReferences?.some((r) => r.uid === cluster.metadata.uid) === true ? set : undefined;
    if (set !== undefined && ownedSet === undefined) {
      throw new OwnershipConflictError(`StatefulSet ${namespace}/${names.statefulSet} exists but is not owned by this KVRaftCluster (uid ${cluster.metadata.uid ?? "?"}): it may belong to a deleted cluster still being cleaned up; delete it or rename the cluster`);
    }
    const pods = ownedSet === undefined ? [] : podViews(this.deps.cache.list(POD, namespace), ownedSet);
    const key = `${namespace}/${cluster.metadata.name}`;
    const known = this.tokens.get(key);
    const { token, secret } = await readAdminToken(cluster, this.deps.rest, known?.uid === cluster.metadata.uid ? known?.token : undefined);
    this.tokens.set(key, { uid: cluster.metadata.uid, token });
    const knownClient = this.clientTokens.get(key);
    const clientTokens = await readClientTokens(cluster, this.deps.rest, knownClient?.uid === cluster.metadata.uid ? knownClient?.tokens : undefined);
    this.clientTokens.set(key, { uid: cluster.metadata.uid, tokens: clientTokens.tokens });
    const tls = tlsSettings(cluster.spec).enabled ? await readClusterTls(cluster, this.deps.rest, {
      memberCount: certifiedMembers(cluster, ownedSet === undefined ? undefined : statefulSetView(ownedSet).replicas),
      ...(this.deps.desired.clusterDomain === undefined ? {} : { clusterDomain: this.deps.desired.clusterDomain }),
    }) : undefined;
    const admin = this.deps.adminFor(cluster, token, pods, tls?.pems.caBundlePem);
    let membership: MembershipView | undefined;
    if (ownedSet !== undefined) {
      try {
        membership = await admin.members();
      } catch (error) {
        this.deps.log.debug({ cluster: cluster.metadata.name, err: error }, "admin API did not answer");
      }
    }
    const statefulSet: StatefulSetView | undefined = ownedSet === undefined ? undefined : statefulSetView(ownedSet);
    // A StatefulSet's claim templates cannot change: once it exists, they are kept as they are.
    const liveClaimTemplates = (ownedSet as { spec?: { volumeClaimTemplates?: Record<string, unknown>[] } } | undefined)?.spec?.volumeClaimTemplates;
    return {
      input: { cluster, pods, ...(statefulSet === undefined ? {} : { statefulSet }), ...(membership === undefined ? {} : { membership }) },
      token,
      secret,
      clientTokens,
      tls,
      admin,
      ...(liveClaimTemplates === undefined ? {} : { liveClaimTemplates }),
    };
  }

  private async applyDesired(
    cluster: KVRaftCluster, adminToken: string, liveSecret: KubeObject | undefined, clientTokens: ClientTokensRead, tls: ClusterTls | undefined,
    serverReplicas: number | undefined, statefulSet: StatefulSetView | undefined,
    liveVolumeClaimTemplates: readonly Readonly<Record<string, unknown>>[] | undefined,
  ): Promise<void> {
    const formed = cluster.status?.formed === true;
    const options: DesiredOptions = {
      ...this.deps.desired,
      adminToken,
      clientTokens: clientTokens.tokens,
      ...(tls === undefined ? {} : { tls: tls.pems }),
      ...(serverReplicas === undefined ? {} : { serverReplicas }),
      ...(liveVolumeClaimTemplates === undefined ? {} : { liveVolumeClaimTemplates }),
      // Before the cluster formed, its founding members are the StatefulSet's: a spec change meanwhile waits.
      ...(!formed && statefulSet !== undefined ? { foundingMembers: statefulSet.replicas } : {}),
      podMonitorAvailable: await this.deps.podMonitorAvailable(),
    };
    const objects = desiredObjects(cluster, options);
    const names = objectNames(cluster.metadata.name);
    const liveSecrets = new Map<string, KubeObject | undefined>([[names.adminSecret, liveSecret], [names.clientTokensSecret, clientTokens.secret]]);
    for (const desired of objects) {
      const t = resourceTypeOf(desired.apiVersion, desired.kind);
      // No informer holds Secrets (the operator may not list or watch them): the tokens' and the TLS ones were read just now.
      const live = t !== SECRET_TYPE ? this.deps.cache.get(t, desired.metadata.namespace ?? "default", desired.metadata.name)
        : liveSecrets.has(desired.metadata.name) ? liveSecrets.get(desired.metadata.name) : tls?.liveSecrets.get(desired.metadata.name);
      if (!needsApply(desired, live)) continue;
      const written = await applyObject(this.deps.rest, desired);
      if (t !== SECRET_TYPE) this.deps.cache.remember?.(t, written);
      this.deps.metrics.writes.inc({ kind: desired.kind });
    }
    await this.pruneUnwanted(cluster, objects, NETWORK_POLICY);
    // Watched (so listed) only while the Prometheus operator's API is served.
    if (options.podMonitorAvailable === true) await this.pruneUnwanted(cluster, objects, POD_MONITOR_TYPE);
  }

  /**
   * The cluster's objects of a kind that are no longer wanted are deleted. NetworkPolicies
   * (spec.networkPolicy.enabled turned false): leaving one would keep restricting what
   * the user opened. PodMonitors (spec.monitoring.podMonitor turned false, the coordinator
   * scaled to none): leaving one would have Prometheus scrape ports the NetworkPolicy
   * closed again, and report the targets down. With pods, the only kinds it deletes.
   */
  private async pruneUnwanted(cluster: KVRaftCluster, desired: readonly KubeObject[], t: ResourceType): Promise<void> {
    const namespace = cluster.metadata.namespace ?? "default";
    const wanted = new Set(desired.filter((o) => o.kind === t.kind).map((o) => o.metadata.name));
    for (const live of this.deps.cache.list(t, namespace)) {
      const owned = live.metadata.ownerReferences?.some((r) => r.uid === cluster.metadata.uid && r.controller === true) === true;
      if (!owned || wanted.has(live.metadata.name) || live.metadata.deletionTimestamp !== undefined) continue;
      await deleteObject(this.deps.rest, t.apiVersion, t.kind, live.metadata.name, namespace, live.metadata.uid);
      this.deps.metrics.writes.inc({ kind: t.kind });
    }
  }

  /** A larger spec.storage.size goes to each claim (the StatefulSet's templates are immutable). */
  private async growVolumes(cluster: KVRaftCluster, replicas: number): Promise<void> {
    if (cluster.spec.storage.volumeClaimTemplate !== undefined) return; // a full template: the user's to manage
    const namespace = cluster.metadata.namespace ?? "default";
    const names = new Set(Array.from({ length: replicas }, (_, i) => dataClaimName(cluster.metadata.name, i)));
    for (const growth of claimsToGrow(this.deps.cache.list(CLAIM, namespace), names, cluster.spec.storage.size)) {
      try {
        await this.deps.rest.request("PATCH", objectPath(CLAIM, growth.claim, namespace), {
          body: { spec: { resources: { requests: { storage: growth.to } } } }, contentType: "application/merge-patch+json",
        });
      } catch (error) {
        if (!(error instanceof KubeApiError) || (error.status !== 403 && error.status !== 422)) throw error;
        // Not expandable (its StorageClass, or the operator's RBAC): say so, and keep reconciling the rest.
        await this.deps.events.record(cluster, { type: "Warning", reason: "VolumeExpansionRefused", message: `could not grow claim ${growth.claim} from ${growth.from} to ${growth.to}: ${error.message}` });
        continue;
      }
      this.deps.metrics.writes.inc({ kind: "PersistentVolumeClaim" });
      await this.deps.events.record(cluster, { type: "Normal", reason: "VolumeExpanding", message: `claim ${growth.claim}: ${growth.from} -> ${growth.to}` });
    }
  }

  /** The step's own action; Create and ScaleStatefulSet were done by applying the desired objects. */
  private async carryOut(step: PlanStep, cluster: KVRaftCluster, admin: AdminApi, pods: readonly PodView[]): Promise<void> {
    switch (step.kind) {
      case "AddLearner": return admin.addLearner(step.memberId);
      case "PromoteLearner": return admin.promote(step.memberId);
      case "RemoveMember": return admin.remove(step.memberId);
      case "TransferLeader": return admin.transferLeadership(step.to);
      case "DeletePod": {
        const pod = pods.find((p) => p.name === step.pod);
        const live = this.deps.cache.get(POD, cluster.metadata.namespace ?? "default", step.pod);
        if (pod === undefined || live === undefined) return;
        return deleteObject(this.deps.rest, "v1", "Pod", step.pod, cluster.metadata.namespace ?? "default", live.metadata.uid);
      }
      case "SetPartition":
        throw new InvariantError(`the planner asks for no StatefulSet partition, since the StatefulSet is OnDelete (asked for ${step.partition}): a bug in the planner or the desired StatefulSet`);
      case "Create": case "ScaleStatefulSet": case "Wait": case "Refuse": case "Done":
        return;
    }
  }

  private async pause(key: string, cluster: KVRaftCluster): Promise<ReconcileResult> {
    if (!this.paused.has(key)) {
      this.paused.add(key);
      this.deps.log.info({ cluster: key }, `paused by the ${PAUSE_ANNOTATION} annotation`);
      await this.deps.events.record(cluster, { type: "Normal", reason: "Paused", message: `reconciling stopped: the ${PAUSE_ANNOTATION} annotation is "true"; remove it to resume` });
    }
    return {};
  }

  /** A phase change is worth an Event (the cluster became Running, Degraded...). */
  private async notePhase(key: string, cluster: KVRaftCluster, phase: ClusterPhase | undefined, reason: string | undefined): Promise<void> {
    if (phase === undefined) return;
    const previous = this.phases.get(key) ?? cluster.status?.phase;
    this.phases.set(key, phase);
    this.deps.metrics.setPhase(key, phase);
    if (previous === phase) return;
    await this.deps.events.record(cluster, {
      type: phase === "Degraded" || phase === "Failed" ? "Warning" : "Normal",
      reason: `Phase${phase}`,
      message: `phase ${previous ?? "(none)"} -> ${phase}${reason === undefined || reason === "" ? "" : `: ${reason}`}`,
    });
  }

  private forget(key: string): void {
    this.paused.delete(key);
    this.tokens.delete(key);
    this.clientTokens.delete(key);
    this.phases.delete(key);
    this.quorumWatch.forget(key);
    this.deps.metrics.setPhase(key, undefined);
  }
}

/**
 * How many members (pods NAME-0 ..) need a certificate: every one the cluster has, had
 * in its status, or is growing to (spec.replicas bounds a growth; a shrink keeps the
 * StatefulSet's until it is done).
 */
function certifiedMembers(cluster: KVRaftCluster, statefulSetReplicas: number | undefined): number {
  return Math.max(cluster.spec.replicas, statefulSetReplicas ?? 0, cluster.status?.replicas ?? 0, ...(cluster.status?.members ?? []).map((m) => m.id));
}

function requeueAfter(step: PlanStep): number {
  if (changesSomething(step)) return REQUEUE_MS.afterChange;
  return step.kind === "Wait" ? REQUEUE_MS.waiting : REQUEUE_MS.settled;
}

function describeStep(step: PlanStep): string {
  return "reason" in step ? `${step.kind}: ${step.reason}` : step.kind;
}

export function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  invariant(slash >= 1 && slash !== key.length - 1, () => `a cluster key is "namespace/name", got "${key}"`);
  return [key.slice(0, slash), key.slice(slash + 1)];
}
