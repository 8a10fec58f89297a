/**
 * Who leads among operator replicas, decided on a coordination.k8s.io Lease (the
 * scheme of client-go's leader election). This file is the pure decision; lease-loop.ts
 * does the IO.
 *
 * Expiry is judged by the local clock from the moment this replica last saw the record
 * change, never by comparing the renewTime written by another machine with our clock:
 * clocks of two nodes may disagree by more than a lease.
 */
export interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

export interface Observed {
  /** The record as last seen (holder and renew time): a change means its holder is alive. */
  readonly record: string;
  readonly atMs: number;
}

export type ElectionDecision =
  | { readonly action: "create"; readonly spec: LeaseSpec }
  | { readonly action: "renew"; readonly spec: LeaseSpec }
  | { readonly action: "acquire"; readonly spec: LeaseSpec }
  | { readonly action: "follow"; readonly holder: string; readonly expiresInMs: number };

export interface ElectionInput {
  readonly lease: LeaseSpec | undefined;
  readonly identity: string;
  readonly leaseDurationSeconds: number;
  readonly nowMs: number;
  readonly previous: Observed | undefined;
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits (the API server parses no other). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export function recordOf(lease: LeaseSpec): string {
  return `${lease.holderIdentity ?? ""}|${lease.renewTime ?? ""}|${lease.leaseTransitions ?? 0}`;
}

/** What this replica should do with the Lease now, and what it has now observed. */
export function decide(input: ElectionInput): { decision: ElectionDecision; observed: Observed | undefined } {
  const { lease, identity, nowMs } = input;
  const now = microTime(nowMs);
  const ours = (transitions: number, acquireTime: string): LeaseSpec => ({
    holderIdentity: identity, leaseDurationSeconds: input.leaseDurationSeconds, acquireTime, renewTime: now, leaseTransitions: transitions,
  });
  if (lease === undefined) return { decision: { action: "create", spec: ours(0, now) }, observed: undefined };
  const record = recordOf(lease);
  const observed = input.previous?.record === record ? input.previous : { record, atMs: nowMs };
  const holder = lease.holderIdentity ?? "";
  const transitions = lease.leaseTransitions ?? 0;
  if (holder === identity) return { decision: { action: "renew", spec: ours(transitions, lease.acquireTime ?? now) }, observed };
  // A released lease (no holder) is free at once; a held one once it went unrenewed for its duration.
  const durationMs = (lease.leaseDurationSeconds ?? input.leaseDurationSeconds) * 1000;
  const expiresInMs = holder === "" ? 0 : observed.atMs + durationMs - nowMs;
  if (expiresInMs <= 0) return { decision: { action: "acquire", spec: ours(transitions + 1, now) }, observed };
  return { decision: { action: "follow", holder, expiresInMs }, observed };
}

export interface ElectionTiming {
  readonly leaseDurationSeconds: number;
  /** A leader that could not renew for this long steps down (before the lease can expire for others). */
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

export const DEFAULT_TIMING: ElectionTiming = { leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export function checkTiming(t: ElectionTiming): void {
  if (!(t.retryPeriodMs > 0 && t.renewDeadlineMs > t.retryPeriodMs && t.leaseDurationSeconds * 1000 > t.renewDeadlineMs)) {
    throw new RangeError(`leader election timing must satisfy 0 < retry (${t.retryPeriodMs} ms) < renew deadline (${t.renewDeadlineMs} ms) < lease duration (${t.leaseDurationSeconds * 1000} ms)`);
  }
}
