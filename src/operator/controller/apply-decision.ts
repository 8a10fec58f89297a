import { createHash } from "node:crypto";
import type { KubeObject } from "../types.js";

/** The annotation that records which desired state the operator last applied to an object. */
export const APPLIED_HASH_ANNOTATION = "kvraft.io/applied-hash";

/** JSON with object keys sorted, so equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function hashOf(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 32);
}

/** The desired object with the hash of its own content in an annotation. */
export function withAppliedHash(desired: KubeObject): KubeObject {
  const hash = hashOf(desired);
  return {
    ...desired,
    metadata: { ...desired.metadata, annotations: { ...desired.metadata.annotations, [APPLIED_HASH_ANNOTATION]: hash } },
  };
}

/**
 * Whether the desired object must be applied: it is missing, or what the operator last
 * applied to it (recorded in the annotation) differs from what it wants now. The
 * comparison is with the operator's own last intent, not with the live object, because
 * the API server adds defaults and other managers own other fields: comparing whole
 * objects would see a difference on every reconcile and write every time.
 */
export function needsApply(desired: KubeObject, live: KubeObject | undefined): boolean {
  if (live === undefined) return true;
  if (live.metadata.deletionTimestamp !== undefined) return false; // being deleted: a write would not bring it back
  return live.metadata.annotations?.[APPLIED_HASH_ANNOTATION] !== hashOf(desired);
}

/** Whether the status must be written: equal content (key order aside) needs no write. */
export function needsStatusWrite(computed: unknown, live: unknown): boolean {
  return canonicalJson(computed ?? {}) !== canonicalJson(live ?? {});
}
