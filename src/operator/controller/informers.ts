import type { Informer, KubeConfig, KubernetesListObject, KubernetesObject, ObjectCache } from "@kubernetes/client-node";
import { makeInformer } from "@kubernetes/client-node";
import type { KubeObject } from "../types.js";
import { API_GROUP, KIND } from "../types.js";
import type { KubeRest } from "./kube-rest.js";
import type { ResourceType } from "./resources.js";
import { CLUSTER_TYPE, collectionPath, resourceTypeOf } from "./resources.js";
import type { InformerHealthBounds } from "./informer-health.js";
import { InformerHealth } from "./informer-health.js";
import { backoffDelayMs } from "./work-queue.js";

/** The Prometheus operator's kind: served only where its CRD is installed, so watched only there. */
export const POD_MONITOR_TYPE = resourceTypeOf("monitoring.coreos.com/v1", "PodMonitor");

/** The kinds a cluster owns that every API server serves, watched from the start. */
const ALWAYS_SERVED_OWNED_TYPES: readonly ResourceType[] = [
  resourceTypeOf("apps/v1", "StatefulSet"),
  resourceTypeOf("v1", "Pod"),
  resourceTypeOf("apps/v1", "Deployment"),
  resourceTypeOf("v1", "Service"),
  resourceTypeOf("v1", "ConfigMap"),
  // Not Secrets: an informer would list and watch every Secret the operator may see, and its
  // RBAC grants no list or watch on them. The reconciler reads its cluster's one by name.
  resourceTypeOf("v1", "ServiceAccount"),
  resourceTypeOf("policy/v1", "PodDisruptionBudget"),
  resourceTypeOf("networking.k8s.io/v1", "NetworkPolicy"),
  // The servers' claims (labelled by their template): read to grow them when spec.storage.size grows.
  resourceTypeOf("v1", "PersistentVolumeClaim"),
];

/** The kinds a cluster owns that the operator watches: a change to any requeues its cluster. */
export const OWNED_TYPES: readonly ResourceType[] = [...ALWAYS_SERVED_OWNED_TYPES, POD_MONITOR_TYPE];

const RESTART_BACKOFF = { baseDelayMs: 500, delayMaxMs: 30_000 };

export interface InformerSetOptions {
  /** Watch one namespace, or all of them. */
  readonly namespace: string | undefined;
  /** A cluster's key ("namespace/name") whenever it or something it owns changed. */
  readonly onClusterKey: (key: string) => void;
  readonly onError: (kind: string, error: unknown) => void;
  /** Only objects with these labels are watched among the owned kinds (not the clusters). */
  readonly ownedLabelSelector?: string;
  /** When an informer that cannot sync or keeps failing makes the process unhealthy. */
  readonly healthBounds?: InformerHealthBounds;
}

type CachedInformer = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

/**
 * One informer (list, then watch) per kind, each a cache the reconciler reads instead of
 * asking the API server. client-node's informer stops on a watch error; this restarts it
 * with exponential backoff (it watches again from the last version seen, or lists afresh
 * when that version is gone). What each informer reported is kept for /healthz.
 */
export class InformerSet {
  private readonly informers = new Map<string, CachedInformer>();
  private readonly health: InformerHealth;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private stopped = false;

  constructor(private readonly kubeConfig: KubeConfig, private readonly rest: KubeRest, private readonly options: InformerSetOptions) {
    this.health = new InformerHealth(options.healthBounds);
  }

  /** Starts the informers of the kinds every API server serves; resolves once each has synced or failed once. */
  async start(): Promise<void> {
    await Promise.all([CLUSTER_TYPE, ...ALWAYS_SERVED_OWNED_TYPES].map((t) => this.startOne(t)));
  }

  /** Starts watching a kind found served later (a CRD installed); resolves at once if it is watched already. */
  async watchAlso(t: ResourceType): Promise<void> {
    if (this.informers.has(t.kind) || this.stopped) return;
    await this.startOne(t);
  }

  /** Why the caches cannot be trusted (an informer past a bound of InformerHealthBounds), or undefined. */
  problem(): string | undefined {
    return this.health.problem(Date.now());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }

  list(t: ResourceType, namespace: string): KubeObject[] {
    return (this.informers.get(t.kind)?.list(namespace) ?? []) as unknown as KubeObject[];
  }

  get(t: ResourceType, namespace: string, name: string): KubeObject | undefined {
    return this.informers.get(t.kind)?.get(name, namespace) as unknown as KubeObject | undefined;
  }

  watches(t: ResourceType): boolean {
    return this.informers.has(t.kind);
  }

  /** Every cluster's key, for the periodic resync. */
  clusterKeys(): string[] {
    const informer = this.informers.get(CLUSTER_TYPE.kind);
    return (informer?.list() ?? []).map((o) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`);
  }

  private async startOne(t: ResourceType): Promise<void> {
    const path = collectionPath(t, this.options.namespace);
    const selector = t === CLUSTER_TYPE ? undefined : this.options.ownedLabelSelector;
    const list = (): Promise<KubernetesListObject<KubernetesObject>> =>
      this.rest.request<KubernetesListObject<KubernetesObject>>("GET", path, { query: { labelSelector: selector } });
    const informer = makeInformer(this.kubeConfig, path, list, selector);
    const onChange = (obj: KubernetesObject): void => {
      const key = this.clusterKeyOf(t, obj as unknown as KubeObject);
      if (key !== undefined) this.options.onClusterKey(key);
    };
    informer.on("add", onChange);
    informer.on("update", onChange);
    informer.on("delete", onChange);
    informer.on("error", (error: unknown) => this.failed(t, informer, error));
    this.informers.set(t.kind, informer);
    this.health.started(t.kind, Date.now());
    await this.attempt(t, informer);
  }

  /**
   * One list (if needed) and watch. client-node reports a failure of either through the
   * "error" event before start() resolves, and nothing on success: an attempt during which
   * no failure was counted connected.
   */
  private async attempt(t: ResourceType, informer: CachedInformer): Promise<void> {
    const failuresBefore = this.health.failuresOf(t.kind);
    try {
      await informer.start();
    } catch (error) {
      this.failed(t, informer, error); // the credentials could not be applied: not reported as an event
      return;
    }
    if (!this.stopped && this.health.failuresOf(t.kind) === failuresBefore) this.health.connected(t.kind);
  }

  private failed(t: ResourceType, informer: CachedInformer, error: unknown): void {
    if (this.stopped) return; // stop() aborts the watches: not an error
    const failures = this.health.failed(t.kind, Date.now(), error);
    this.options.onError(t.kind, error);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) void this.attempt(t, informer);
    }, backoffDelayMs(failures, RESTART_BACKOFF));
    this.timers.add(timer);
  }

  /** The cluster an object belongs to: itself, its owner, or (a pod) its StatefulSet's owner. */
  private clusterKeyOf(t: ResourceType, obj: KubeObject): string | undefined {
    const namespace = obj.metadata.namespace ?? "";
    if (t === CLUSTER_TYPE) return `${namespace}/${obj.metadata.name}`;
    const owner = clusterOwnerName(obj);
    if (owner !== undefined) return `${namespace}/${owner}`;
    const setName = obj.metadata.ownerReferences?.find((r) => r.kind === "StatefulSet" && r.controller === true)?.name;
    if (setName === undefined) return undefined;
    const set = this.get(resourceTypeOf("apps/v1", "StatefulSet"), namespace, setName);
    const setOwner = set === undefined ? undefined : clusterOwnerName(set);
    return setOwner === undefined ? undefined : `${namespace}/${setOwner}`;
  }
}

export function clusterOwnerName(obj: KubeObject): string | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.kind === KIND && r.apiVersion.startsWith(`${API_GROUP}/`) && r.controller === true)?.name;
}
