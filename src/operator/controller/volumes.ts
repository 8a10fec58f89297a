import type { KubeObject } from "../types.js";

const BINARY: Readonly<Record<string, number>> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Readonly<Record<string, number>> = { "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A Kubernetes quantity ("1Gi", "500M", "1.5Gi", "2e9") in bytes; undefined when it is not one. */
export function quantityBytes(text: string): number | undefined {
  const match = /^([+]?[0-9]*\.?[0-9]+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)|[eE]([+-]?[0-9]+))?$/.exec(text.trim());
  if (match === null) return undefined;
  const value = Number(match[1]);
  if (match[3] !== undefined) return value * 10 ** Number(match[3]);
  const suffix = match[2] ?? "";
  return value * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

export interface ClaimGrowth {
  readonly claim: string;
  readonly from: string;
  readonly to: string;
}

/**
 * The server claims whose requested size is below spec.storage.size. A StatefulSet's claim
 * templates cannot change, so a larger size is applied to each existing claim instead
 * (the StorageClass must allow expansion). Smaller sizes are never asked for: the CRD
 * refuses to shrink, and a claim larger than the spec stays as it is.
 */
export function claimsToGrow(claims: readonly KubeObject[], claimNames: ReadonlySet<string>, size: string): ClaimGrowth[] {
  const wanted = quantityBytes(size);
  if (wanted === undefined) return [];
  const growth: ClaimGrowth[] = [];
  for (const claim of claims) {
    if (!claimNames.has(claim.metadata.name) || claim.metadata.deletionTimestamp !== undefined) continue;
    const current = (claim as { spec?: { resources?: { requests?: { storage?: string } } } }).spec?.resources?.requests?.storage;
    const bytes = current === undefined ? undefined : quantityBytes(current);
    if (bytes !== undefined && bytes < wanted) growth.push({ claim: claim.metadata.name, from: current as string, to: size });
  }
  return growth.sort((a, b) => (a.claim < b.claim ? -1 : 1));
}
