import { describe, expect, it } from "vitest";
import { claimsToGrow, quantityBytes } from "../../src/operator/controller/volumes.js";
import type { KubeObject } from "../../src/operator/types.js";

const claim = (name: string, storage: string, deleting = false): KubeObject => ({
  apiVersion: "v1", kind: "PersistentVolumeClaim",
  metadata: { name, namespace: "ns", ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
  spec: { resources: { requests: { storage } } },
});

describe("volume growth", () => {
  it("reads quantities in bytes", () => {
    expect(quantityBytes("1Gi")).toBe(2 ** 30);
    expect(quantityBytes("1.5Gi")).toBe(1.5 * 2 ** 30);
    expect(quantityBytes("500M")).toBe(5e8);
    expect(quantityBytes("2e9")).toBe(2e9);
    expect(quantityBytes("1024")).toBe(1024);
    expect(quantityBytes("lots")).toBeUndefined();
    expect(quantityBytes("1GB")).toBeUndefined();
  });

  it("grows only the cluster's claims that are smaller, never shrinks, skips claims being deleted", () => {
    const names = new Set(["data-kv-0", "data-kv-1", "data-kv-2"]);
    const claims = [claim("data-kv-1", "1Gi"), claim("data-kv-0", "1024Mi"), claim("data-kv-2", "4Gi"), claim("data-other-0", "1Gi"), claim("data-kv-3", "1Gi", true)];
    expect(claimsToGrow(claims, names, "2Gi")).toEqual([
      { claim: "data-kv-0", from: "1024Mi", to: "2Gi" },
      { claim: "data-kv-1", from: "1Gi", to: "2Gi" },
    ]);
    expect(claimsToGrow(claims, names, "1Gi")).toEqual([]);
    expect(claimsToGrow(claims, names, "not-a-size")).toEqual([]);
  });
});
