import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ClusterStatus } from "../../src/operator/types.js";
import { AdminDouble } from "../support/admin-double.js";
import type { KubeRig } from "../../src/devcluster/control-plane.js";
import { rigBinaries } from "../../src/devcluster/control-plane.js";
import { waitFor } from "../support/wait.js";
import type { LoggedStep } from "./operator-harness.js";
import { OperatorProcess, startOperatorRig } from "./operator-harness.js";

// The operator (dist/cli.js operator) against a real control plane: the StatefulSet
// controller makes pods, kwok makes them Ready, and the servers' admin API is a test
// double that records every membership call.

const NS = "kvr-operator";
const NAME = "demo";
const OWNED = [
  ["statefulset", NAME], ["service", `${NAME}-peer`], ["service", `${NAME}-client`], ["configmap", `${NAME}-config`],
  ["secret", `${NAME}-admin-token`], ["secret", `${NAME}-client-tokens`], ["serviceaccount", NAME], ["poddisruptionbudget", NAME], ["networkpolicy", NAME], ["networkpolicy", `${NAME}-coord`],
  ["deployment", `${NAME}-coord`], ["service", `${NAME}-coord`],
  ["secret", `${NAME}-tls-ca`], ["secret", `${NAME}-tls-members`], ["secret", `${NAME}-tls-coord`], ["configmap", `${NAME}-ca`],
] as const;

interface ClusterJson {
  metadata: { uid: string; generation: number };
  spec: { replicas: number };
  status?: ClusterStatus;
}
interface Owned { metadata: { ownerReferences?: { uid: string; controller?: boolean; kind: string }[] } }

function clusterManifest(replicas: number): object {
  return {
    apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftCluster",
    metadata: { name: NAME, namespace: NS },
    spec: { replicas, image: "registry.invalid/kvraft:test", storage: { size: "1Gi" } },
  };
}

const mutations = (double: AdminDouble): string[] =>
  double.calls.filter((c) => c.method !== "GET").map((c) => `${c.method} ${c.path}`);

describe("kvraft operator on a real control plane", () => {
  let rig: KubeRig;
  let double: AdminDouble;
  let uid: string;
  const operators: OperatorProcess[] = [];

  const cluster = (): Promise<ClusterJson> => rig.getJson<ClusterJson>(["get", "kvr", NAME, "-n", NS, "-o", "json"]);
  const setReplicas = async (): Promise<number> =>
    (await rig.getJson<{ spec: { replicas: number } }>(["get", "statefulset", NAME, "-n", NS, "-o", "json"])).spec.replicas;
  const startOperator = async (extra: Partial<Parameters<typeof OperatorProcess.start>[0]> = {}): Promise<OperatorProcess> => {
    const operator = await OperatorProcess.start({ kubeconfig: rig.kubeconfig, namespace: NS, adminEndpoint: double.url, ...extra });
    operators.push(operator);
    return operator;
  };
  /** Running with `replicas` members, every pod Ready, the StatefulSet at the same size. */
  const settled = (replicas: number, timeoutMs = 120_000): Promise<ClusterJson> => waitFor(`the cluster settled at ${replicas} Running members`, async () => {
    const c = await cluster();
    const s = c.status;
    const ready = s?.phase === "Running" && s.replicas === replicas && s.readyReplicas === replicas && s.observedGeneration === c.metadata.generation;
    return ready && (await setReplicas()) === replicas ? c : undefined;
  }, timeoutMs, 500);

  beforeAll(async () => {
    await rigBinaries();
  }, 90 * 60_000);

  beforeAll(async () => {
    rig = await startOperatorRig(NS);
    await rig.apply(clusterManifest(3));
    uid = (await cluster()).metadata.uid;
    double = await AdminDouble.start({ clusterId: uid, voters: [1, 2, 3] });
  }, 300_000);

  afterEach(async () => {
    await Promise.all(operators.map((o) => o.stop()));
    // Warnings are worth reading after a failure (a refused write, a watch restarted).
    const warnings = operators.flatMap((o) => o.lines.filter((l) => /"level":(40|50|60)/.test(l)));
    if (warnings.length > 0) process.stderr.write(`operator warnings (${warnings.length}):\n${warnings.slice(-20).join("\n")}\n`);
    operators.length = 0;
  }, 60_000);

  afterAll(async () => {
    await double?.stop();
    await rig?.stop();
  }, 60_000);

  it("creates every object owned by the cluster; pods become Ready; status, columns and Events show it", async () => {
    const operator = await startOperator();
    await operator.ready();
    try {
      await settled(3);
    } catch (error) {
      throw new Error(`${(error as Error).message}\noperator log:\n${operator.tail()}`);
    }
    for (const [kind, name] of OWNED) {
      const object = await rig.getJson<Owned>(["get", kind, name, "-n", NS, "-o", "json"]);
      expect(object.metadata.ownerReferences, `${kind}/${name}`).toEqual([expect.objectContaining({ kind: "KVRaftCluster", uid, controller: true })]);
    }
    const status = (await cluster()).status;
    expect(status?.leader).toEqual({ id: 1, pod: `${NAME}-0` });
    expect(status?.formed).toBe(true);
    expect(status?.conditions?.find((c) => c.type === "Available")?.status).toBe("True");
    expect(status?.members?.map((m) => `${m.id}:${m.role}:${m.pod}`)).toEqual([`1:voter:${NAME}-0`, `2:voter:${NAME}-1`, `3:voter:${NAME}-2`]);

    const table = await rig.kubectlOk(["get", "kvr", "-n", NS]);
    const [header, row] = table.trim().split("\n");
    expect(header?.split(/\s+/)).toEqual(["NAME", "REPLICAS", "READY", "LEADER", "TERM", "PHASE", "AGE"]);
    expect(row?.split(/\s+/).slice(0, 6)).toEqual([NAME, "3", "3", `${NAME}-0`, "1", "Running"]);
    const described = await rig.kubectlOk(["describe", "kvr", NAME, "-n", NS]);
    expect(described).toMatch(/Creating/);
    expect(described).toMatch(/PhaseRunning/);
    // The membership was only read: a cluster that formed needs no change.
    expect(mutations(double)).toEqual([]);
  }, 240_000);

  it("a reconcile with nothing changed writes nothing", async () => {
    const operator = await startOperator();
    await operator.ready();
    await settled(3);
    const poke = async (value: string): Promise<void> => {
      const before = await operator.metric("kvraft_operator_reconciles_total", { result: "ok" });
      await rig.kubectlOk(["annotate", "kvr", NAME, "-n", NS, "--overwrite", `test.kvraft.io/poke=${value}`]);
      await waitFor("a reconcile after the poke", async () => (await operator.metric("kvraft_operator_reconciles_total", { result: "ok" })) > before || undefined, 30_000, 100);
    };
    await poke("1"); // the first reconciles of a new process may still refresh caches
    const writes = await operator.metric("kvraft_operator_api_writes_total");
    await poke("2");
    await poke("3");
    expect(await operator.metric("kvraft_operator_api_writes_total")).toBe(writes);
  }, 180_000);

  it("kubectl scale to 5 and back to 3 walks the planner's steps in order: learner, pod, promotion; removal before shrink", async () => {
    const operator = await startOperator();
    await operator.ready();
    await settled(3);
    double.calls.length = 0;
    await rig.kubectlOk(["scale", "kvr", NAME, "-n", NS, "--replicas", "5"]);
    await settled(5);
    expect(mutations(double)).toEqual([
      "POST /v1/admin/members/4/learner", "POST /v1/admin/members/4/promote",
      "POST /v1/admin/members/5/learner", "POST /v1/admin/members/5/promote",
    ]);
    await rig.kubectlOk(["scale", "kvr", NAME, "-n", NS, "--replicas", "3"]);
    await settled(3);
    expect(mutations(double).slice(4)).toEqual(["DELETE /v1/admin/members/5", "DELETE /v1/admin/members/4"]);
    const expected: LoggedStep[] = [
      { kind: "AddLearner", memberId: 4 }, { kind: "ScaleStatefulSet", replicas: 4 }, { kind: "PromoteLearner", memberId: 4 },
      { kind: "AddLearner", memberId: 5 }, { kind: "ScaleStatefulSet", replicas: 5 }, { kind: "PromoteLearner", memberId: 5 },
      { kind: "RemoveMember", memberId: 5 }, { kind: "ScaleStatefulSet", replicas: 4 },
      { kind: "RemoveMember", memberId: 4 }, { kind: "ScaleStatefulSet", replicas: 3 },
    ];
    expect(operator.steps()).toEqual(expected);
    const events = await rig.kubectlOk(["get", "events", "-n", NS, "--field-selector", `involvedObject.name=${NAME}`, "-o", "jsonpath={range .items[*]}{.reason}{\"\\n\"}{end}"]);
    for (const reason of ["MemberAdded", "ScalingStatefulSet", "LearnerPromoted", "MemberRemoved"]) expect(events).toContain(reason);
  }, 360_000);

  it("a larger storage size grows each claim, leaving the StatefulSet's immutable claim templates alone", async () => {
    const operator = await startOperator();
    await operator.ready();
    await settled(3);
    const templates = async (): Promise<unknown> => (await rig.getJson<{ spec: { volumeClaimTemplates: unknown } }>(["get", "statefulset", NAME, "-n", NS, "-o", "json"])).spec.volumeClaimTemplates;
    const before = await templates();
    await rig.kubectlOk(["patch", "kvr", NAME, "-n", NS, "--type", "merge", "-p", JSON.stringify({ spec: { storage: { size: "2Gi" } } })]);
    await settled(3);
    // The claims grow one by one instead (the rig's StorageClass allows expansion).
    await waitFor("every claim to ask for 2Gi", async () => {
      const sizes = await rig.kubectlOk(["get", "pvc", "-n", NS, "-l", `app.kubernetes.io/instance=${NAME}`, "-o", "jsonpath={range .items[*]}{.metadata.name}={.spec.resources.requests.storage}{\"\\n\"}{end}"]);
      const lines = sizes.split("\n").filter((l) => /^data-demo-[0-2]=/.test(l));
      return lines.length === 3 && lines.every((l) => l.endsWith("=2Gi")) || undefined;
    }, 60_000, 500);
    expect(await rig.kubectlOk(["describe", "kvr", NAME, "-n", NS])).toContain("VolumeExpanding");
    expect(await operator.metric("kvraft_operator_reconcile_errors_total")).toBe(0);
    expect(await templates()).toEqual(before);
  }, 180_000);

  it("an image change rolls the pods one at a time, highest ordinal first, the leader last after handing over", async () => {
    const operator = await startOperator();
    await operator.ready();
    await settled(3);
    double.calls.length = 0;
    const leaderBefore = (await cluster()).status?.leader?.id;
    expect(leaderBefore).toBe(1);
    await rig.kubectlOk(["patch", "kvr", NAME, "-n", NS, "--type", "merge", "-p", JSON.stringify({ spec: { image: "registry.invalid/kvraft:test-2" } })]);
    await waitFor("every pod on the new image, the cluster Running again", async () => {
      const pods = await rig.getJson<{ items: { spec: { containers: { image: string }[] } }[] }>(["get", "pods", "-n", NS, "-l", "app.kubernetes.io/component=server", "-o", "json"]);
      const updated = pods.items.length === 3 && pods.items.every((p) => p.spec.containers[0]?.image === "registry.invalid/kvraft:test-2");
      return updated && (await cluster()).status?.phase === "Running" || undefined;
    }, 180_000, 500);
    const rolled = operator.steps().filter((st) => st.kind === "DeletePod" || st.kind === "TransferLeader");
    expect(rolled.map((st) => st.kind === "DeletePod" ? `DeletePod ${st.pod ?? ""}` : st.kind)).toEqual([
      `DeletePod ${NAME}-2`, `DeletePod ${NAME}-1`, "TransferLeader", `DeletePod ${NAME}-0`,
    ]);
    expect(mutations(double)).toEqual(["POST /v1/admin/transfer-leadership"]);
    expect((await cluster()).status?.leader?.id).not.toBe(leaderBefore);
  }, 300_000);

  it("a paused cluster is left alone until the annotation is removed", async () => {
    const operator = await startOperator();
    await operator.ready();
    await settled(3);
    double.calls.length = 0;
    await rig.kubectlOk(["annotate", "kvr", NAME, "-n", NS, "kvraft.io/paused=true"]);
    await waitFor("the Paused event", async () => (await rig.kubectlOk(["describe", "kvr", NAME, "-n", NS])).includes("Paused") || undefined, 30_000, 250);
    const reconciles = await operator.metric("kvraft_operator_reconciles_total");
    await rig.kubectlOk(["scale", "kvr", NAME, "-n", NS, "--replicas", "5"]);
    await waitFor("a reconcile of the scaled, paused cluster", async () => (await operator.metric("kvraft_operator_reconciles_total")) > reconciles || undefined, 30_000, 100);
    expect(mutations(double)).toEqual([]);
    expect(await setReplicas()).toBe(3);
    await rig.kubectlOk(["scale", "kvr", NAME, "-n", NS, "--replicas", "3"]);
    await rig.kubectlOk(["annotate", "kvr", NAME, "-n", NS, "kvraft.io/paused-"]);
    await waitFor("the Resumed event", async () => (await rig.kubectlOk(["describe", "kvr", NAME, "-n", NS])).includes("Resumed") || undefined, 30_000, 250);
    await settled(3);
    expect(mutations(double)).toEqual([]);
  }, 180_000);

  it("an operator stopped after each step of a scale-out and a scale-in is finished by the next one", async () => {
    await settledWithFreshOperator();
    double.calls.length = 0;
    const failpoints = "after-add-learner,after-scale-stateful-set,after-promote-learner,after-remove-member";
    const hits: string[] = [];
    const runUntilSettled = async (replicas: number, maxLives: number): Promise<void> => {
      for (let life = 0; life < maxLives; life++) {
        const operator = await startOperator({ env: { KVRAFT_OPERATOR_FAILPOINT: failpoints } });
        const outcome = await Promise.race([
          operator.exited.then((code) => ({ code })),
          settled(replicas, 90_000).then(() => ({ code: "settled" as const })),
        ]);
        if (outcome.code === "settled") {
          await operator.stop();
          return;
        }
        expect(outcome.code, operator.tail()).toBe(86);
        const hit = operator.lines.map((l) => /failpoint (\S+) hit/.exec(l)?.[1]).find((h) => h !== undefined);
        expect(hit).toBeDefined();
        hits.push(hit as string);
      }
      throw new Error(`not settled at ${replicas} after ${maxLives} operator lives; failpoints hit: ${hits.join(", ")}`);
    };
    await rig.kubectlOk(["scale", "kvr", NAME, "-n", NS, "--replicas", "5"]);
    await runUntilSettled(5, 10);
    await rig.kubectlOk(["scale", "kvr", NAME, "-n", NS, "--replicas", "3"]);
    await runUntilSettled(3, 10);
    // Each life did exactly one step and died; the next picked up from what it observed.
    expect(hits).toEqual([
      "after-add-learner", "after-scale-stateful-set", "after-promote-learner",
      "after-add-learner", "after-scale-stateful-set", "after-promote-learner",
      "after-remove-member", "after-scale-stateful-set", "after-remove-member", "after-scale-stateful-set",
    ]);
    expect(mutations(double)).toEqual([
      "POST /v1/admin/members/4/learner", "POST /v1/admin/members/4/promote",
      "POST /v1/admin/members/5/learner", "POST /v1/admin/members/5/promote",
      "DELETE /v1/admin/members/5", "DELETE /v1/admin/members/4",
    ]);
  }, 600_000);

  it("two operators with leader election: one leads, the other takes over when it is killed", async () => {
    const leaseNamespace = NS;
    const a = await startOperator({ leaderElect: { identity: "op-a", leaseNamespace } });
    const b = await startOperator({ leaderElect: { identity: "op-b", leaseNamespace } });
    await Promise.all([a.ready(), b.ready()]);
    const leaderOf = async (): Promise<string> =>
      (await rig.kubectlOk(["get", "lease", "kvraft-operator", "-n", leaseNamespace, "-o", "jsonpath={.spec.holderIdentity}"])).trim();
    const first = await waitFor("one operator to lead", async () => {
      const [la, lb] = await Promise.all([a.metric("kvraft_operator_leader"), b.metric("kvraft_operator_leader")]);
      return la + lb === 1 ? (la === 1 ? a : b) : undefined;
    }, 60_000, 200);
    const second = first === a ? b : a;
    const firstName = first === a ? "op-a" : "op-b";
    expect(await leaderOf()).toBe(firstName);
    expect(await second.metric("kvraft_operator_reconciles_total")).toBe(0);
    await first.kill();
    await waitFor("the other operator to take over", async () => (await second.metric("kvraft_operator_leader")) === 1 || undefined, 60_000, 200);
    expect(await leaderOf()).toBe(first === a ? "op-b" : "op-a");
    await waitFor("the new leader to reconcile", async () => (await second.metric("kvraft_operator_reconciles_total")) > 0 || undefined, 30_000, 200);
    await settled(3);
  }, 180_000);

  it("deleting the cluster removes what it owns; volumes follow the retention policy (Retain by default)", async () => {
    const claims = (): Promise<string[]> => rig.kubectlOk(["get", "pvc", "-n", NS, "-o", "name"]).then((t) => t.split("\n").filter((l) => l !== ""));
    const owned = async (): Promise<string[]> => (await rig.kubectlOk(["get", "statefulset,service,configmap,secret,deployment,poddisruptionbudget,networkpolicy,pod",
      "-n", NS, "-l", `app.kubernetes.io/instance=${NAME}`, "-o", "name"])).split("\n").filter((l) => l !== "");
    expect((await owned()).length).toBeGreaterThanOrEqual(OWNED.length);
    const before = await claims();
    expect(before.length).toBeGreaterThanOrEqual(3);
    await rig.kubectlOk(["delete", "kvr", NAME, "-n", NS, "--wait=true", "--timeout=60s"]);
    await waitFor("the garbage collector to remove every owned object", async () => ((await owned()).length === 0) || undefined, 120_000, 500);
    expect(await claims()).toEqual(before);
  }, 180_000);

  it("with pvcRetention.whenDeleted: Delete, the volumes go with the cluster", async () => {
    const operator = await startOperator();
    await operator.ready();
    const name = "ephemeral";
    await rig.apply({ ...clusterManifest(1), metadata: { name, namespace: NS }, spec: { replicas: 1, image: "registry.invalid/kvraft:test", pvcRetention: { whenDeleted: "Delete" } } });
    const claim = `data-${name}-0`;
    await waitFor(`claim ${claim}`, async () => (await rig.kubectl(["get", "pvc", claim, "-n", NS, "-o", "name"])).code === 0 || undefined, 90_000, 500);
    await rig.kubectlOk(["delete", "kvr", name, "-n", NS, "--wait=true", "--timeout=60s"]);
    await waitFor(`claim ${claim} to be deleted`, async () => (await rig.kubectl(["get", "pvc", claim, "-n", NS, "-o", "name"])).code !== 0 || undefined, 120_000, 500);
  }, 240_000);

  it("kubectl apply -f examples/cluster.yaml: 3/3 Ready, Running, and describe shows how it was created", async () => {
    const ns = "kvr-example";
    await rig.kubectlOk(["create", "namespace", ns]);
    await rig.kubectlOk(["apply", "-n", ns, "-f", fileURLToPath(new URL("../../examples/cluster.yaml", import.meta.url))]);
    const name = "example";
    const exampleUid = (await rig.getJson<ClusterJson>(["get", "kvr", name, "-n", ns, "-o", "json"])).metadata.uid;
    const exampleDouble = await AdminDouble.start({ clusterId: exampleUid, voters: [1, 2, 3] });
    try {
      const operator = await OperatorProcess.start({ kubeconfig: rig.kubeconfig, namespace: ns, adminEndpoint: exampleDouble.url });
      operators.push(operator);
      await operator.ready();
      await waitFor("the example to be 3/3 Ready and Running", async () => {
        const row = (await rig.kubectlOk(["get", "kvr", name, "-n", ns, "--no-headers"])).trim().split(/\s+/);
        return row[1] === "3" && row[2] === "3" && row[5] === "Running" || undefined;
      }, 120_000, 500);
      const described = await rig.kubectlOk(["describe", "kvr", name, "-n", ns]);
      for (const reason of ["Creating", "PhaseRunning"]) expect(described).toContain(reason);
      expect(described).toMatch(/kvraft-operator/); // the Events' source
    } finally {
      await exampleDouble.stop();
    }
  }, 240_000);

  async function settledWithFreshOperator(): Promise<void> {
    const operator = await startOperator();
    await operator.ready();
    await settled(3);
    await operator.stop();
  }
});
