import { KubeConfig } from "@kubernetes/client-node";
import type { RequestOptions } from "../../src/operator/controller/kube-rest.js";
import { KubeApiError, KubeRest } from "../../src/operator/controller/kube-rest.js";
import type { ObjectCache } from "../../src/operator/controller/reconciler.js";
import type { ResourceType } from "../../src/operator/controller/resources.js";
import type { KubeObject, KVRaftCluster } from "../../src/operator/types.js";

// The API server and the informers' cache as one reconcile sees them, for tests that
// drive the Reconciler without Kubernetes.

export interface Sent { method: string; path: string; body: unknown; contentType?: string }

/**
 * The API server as the reconciler sees it: writes are recorded and echoed back with a new
 * resourceVersion; a GET answers what was last applied at that path (the reconciler reads
 * its Secret that way), a DELETE removes it.
 */
export class RecordingRest extends KubeRest {
  readonly sent: Sent[] = [];
  readonly stored = new Map<string, KubeObject>();
  private version = 100;
  /** The cluster, answered (with the new status) to a status write, as the API server would. */
  constructor(private readonly cluster: KVRaftCluster) {
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: "c", server: "http://127.0.0.1:1" }], users: [{ name: "u" }], contexts: [{ name: "c", cluster: "c", user: "u" }], currentContext: "c" });
    super(kc);
  }
  override async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    if (method === "GET") {
      const found = this.stored.get(path);
      if (found === undefined) throw new KubeApiError(404, "NotFound", `${path} not found`);
      return found as T;
    }
    this.sent.push({ method, path, body: options.body, ...(options.contentType === undefined ? {} : { contentType: options.contentType }) });
    const body = (options.body ?? {}) as KubeObject;
    const resourceVersion = String(++this.version);
    if (path.endsWith("/status")) return { ...this.cluster, status: (body as KVRaftCluster).status, metadata: { ...this.cluster.metadata, resourceVersion } } as T;
    if (method === "DELETE") {
      this.stored.delete(path);
      return {} as T;
    }
    const written = { ...body, metadata: { ...body.metadata, uid: `uid-${body.metadata.name}`, resourceVersion } };
    if (method === "PATCH" && !path.includes("/events")) this.stored.set(path, written);
    return written as T;
  }
  mutations(): Sent[] {
    return this.sent.filter((s) => !s.path.includes("/events"));
  }
}

/** The informers' cache: objects by kind, namespace and name. */
export class MapCache implements ObjectCache {
  readonly objects = new Map<string, KubeObject>();
  put(kind: string, object: KubeObject): void {
    this.objects.set(`${kind}/${object.metadata.namespace ?? ""}/${object.metadata.name}`, object);
  }
  get(t: ResourceType, namespace: string, name: string): KubeObject | undefined {
    return this.objects.get(`${t.kind}/${namespace}/${name}`);
  }
  list(t: ResourceType, namespace: string): KubeObject[] {
    return [...this.objects].filter(([k]) => k.startsWith(`${t.kind}/${namespace}/`)).map(([, v]) => v);
  }
}

/** What the API server holds after the reconciler's applies: each object as sent, plus a StatefulSet's pods, Ready. */
export function settle(rest: RecordingRest, cache: MapCache, cluster: KVRaftCluster, readyPods: number): KVRaftCluster {
  let current = cluster;
  for (const s of rest.sent) {
    const body = s.body as KubeObject & { status?: unknown };
    if (s.path.endsWith("/status")) current = { ...current, status: body.status as KVRaftCluster["status"] };
    else if (s.method === "PATCH" && !s.path.includes("/events")) cache.put(body.kind, { ...body, metadata: { ...body.metadata, uid: `uid-${body.metadata.name}` } });
  }
  const set = cache.get({ kind: "StatefulSet" } as ResourceType, "db", "kv") as KubeObject & { spec: { replicas: number } };
  cache.put("StatefulSet", { ...set, status: { readyReplicas: readyPods } });
  for (let i = 0; i < readyPods; i++) {
    cache.put("Pod", {
      apiVersion: "v1", kind: "Pod",
      metadata: { name: `kv-${i}`, namespace: "db", ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "kv", uid: "uid-kv", controller: true }] },
      status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
    });
  }
  cache.put("KVRaftCluster", current);
  rest.sent.length = 0;
  return current;
}
