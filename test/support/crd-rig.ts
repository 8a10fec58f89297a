import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect } from "vitest";
import { KubeRig, rigBinaries } from "../../src/devcluster/control-plane.js";

export interface CrdRig {
  /** The running control plane (valid inside tests). */
  rig(): KubeRig;
  /** Applies `manifest`, expects the API server to refuse it, and answers its message. */
  refused(manifest: object): Promise<string>;
}

/**
 * A real API server with one of the project's CRDs installed (crds/FILE, established) and
 * namespace `namespace` made, for a describe block that checks the CRD's schema and CEL
 * rules; stopped after the block. No operator runs.
 */
export function useCrdRig(namespace: string, crdFile: string, crdName: string): CrdRig {
  let rig: KubeRig | undefined;
  const running = (): KubeRig => {
    if (rig === undefined) throw new Error("the control plane did not start");
    return rig;
  };
  beforeAll(async () => {
    await rigBinaries();
  }, 90 * 60_000);
  beforeAll(async () => {
    rig = await KubeRig.start({ nodes: 1 });
    await rig.kubectlOk(["create", "namespace", namespace]);
    await rig.apply(readFileSync(new URL(`../../crds/${crdFile}`, import.meta.url), "utf8"));
    await rig.kubectlOk(["wait", "--for=condition=Established", `crd/${crdName}`, "--timeout=60s"]);
  }, 300_000);
  afterAll(async () => {
    await rig?.stop();
  }, 60_000);
  return {
    rig: running,
    refused: async (manifest) => {
      const result = await running().kubectl(["apply", "-f", "-"], { input: JSON.stringify(manifest) });
      expect(result.code, `applied, but should have been refused: ${JSON.stringify(manifest)}`).not.toBe(0);
      return result.stderr;
    },
  };
}
