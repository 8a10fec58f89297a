import type { KubeObject } from "../types.js";
import type { ObjectCache } from "./reconciler.js";
import type { ResourceType } from "./resources.js";

/** How long an object the operator wrote overrides the informer's copy at most. */
const OVERLAY_TTL_MS = 30_000;
/** Objects remembered at once; the oldest is dropped first. */
const OVERLAY_MAX = 1_000;

/**
 * The informers' cache, plus the objects the operator itself just wrote (as the API
 * server returned them) until the informer has caught up with them. Without it, the
 * reconcile right after growing the StatefulSet could still see the old size and plan
 * the same step again.
 */
export class FreshCache implements ObjectCache {
  private readonly overlay = new Map<string, { object: KubeObject; atMs: number }>();

  constructor(private readonly informers: ObjectCache) {}

  remember(t: ResourceType, written: KubeObject): void {
    if (this.overlay.size >= OVERLAY_MAX) {
      const oldest = this.overlay.keys().next().value;
      if (oldest !== undefined) this.overlay.delete(oldest);
    }
    this.overlay.set(keyOf(t, written.metadata.namespace ?? "", written.metadata.name), { object: written, atMs: Date.now() });
  }

  get(t: ResourceType, namespace: string, name: string): KubeObject | undefined {
    const fromInformer = this.informers.get(t, namespace, name);
    const key = keyOf(t, namespace, name);
    const written = this.overlay.get(key);
    if (written === undefined) return fromInformer;
    if (this.informers.watches?.(t) === false) return written.object;
    if (Date.now() - written.atMs > OVERLAY_TTL_MS || caughtUp(fromInformer, written.object)) {
      this.overlay.delete(key);
      return fromInformer;
    }
    return written.object;
  }

  list(t: ResourceType, namespace: string): KubeObject[] {
    return this.informers.list(t, namespace).map((o) => this.get(t, namespace, o.metadata.name) ?? o);
  }
}

function keyOf(t: ResourceType, namespace: string, name: string): string {
  return `${t.apiVersion}/${t.kind}/${namespace}/${name}`;
}

/**
 * The informer has seen our write or something newer. Resource versions are opaque to
 * clients, but the API server's are increasing integers; if they are not, only an equal
 * one counts (and the overlay's time limit covers the rest).
 */
function caughtUp(fromInformer: KubeObject | undefined, written: KubeObject): boolean {
  const seen = fromInformer?.metadata.resourceVersion;
  const ours = written.metadata.resourceVersion;
  if (seen === undefined || ours === undefined) return false;
  if (seen === ours) return true;
  if (/^\d+$/.test(seen) && /^\d+$/.test(ours)) return BigInt(seen) >= BigInt(ours);
  return false;
}
