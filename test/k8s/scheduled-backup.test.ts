import { readFileSync } from "node:fs";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { KubeRig, rigBinaries } from "../../src/devcluster/control-plane.js";
import { EventRecorder } from "../../src/operator/controller/events.js";
import { KubeApiError, KubeRest, loadKubeConfig } from "../../src/operator/controller/kube-rest.js";
import { OperatorMetrics } from "../../src/operator/controller/metrics.js";
import { reconcileScheduledBackups, ScheduledBackupReconciler } from "../../src/operator/controller/scheduled-backup-reconciler.js";
import type { KVRaftBackup } from "../../src/operator/backup-types.js";
import type { KVRaftScheduledBackup } from "../../src/operator/scheduled-backup-types.js";
import { waitFor } from "../support/wait.js";
import { startOperatorRig, type CrdManifest } from "./operator-harness.js";

// The scheduled-backup controller against a real API server (kwok nodes: no pod runs, so
// the test marks backups Completed by hand, as their Jobs would). The clock is injected:
// each step moves it one minute, so an every-minute schedule is stepped through its slots
// without waiting for them.

const NS = "kvrsb";
const crd = (file: string): CrdManifest => parse(readFileSync(new URL(`../../crds/${file}`, import.meta.url), "utf8")) as CrdManifest;
const MINUTE_MS = 60_000;

interface EventJson { reason: string; message: string; involvedObject: { name: string } }

describe("KVRaftScheduledBackup on a real API server", () => {
  let rig: KubeRig;
  let rest: KubeRest;
  let nowMs = 0;
  const metrics = new OperatorMetrics();
  const said = { missing: false };
  let reconciler: ScheduledBackupReconciler;
  const log = pino({ level: process.env["SCHED_TEST_LOG"] ?? "silent" });

  beforeAll(async () => {
    await rigBinaries();
  }, 90 * 60_000);
  beforeAll(async () => {
    rig = await startOperatorRig(NS, [crd("kvraftbackup.yaml"), crd("kvraftscheduledbackup.yaml")]);
    rest = new KubeRest(loadKubeConfig(rig.kubeconfig));
    reconciler = new ScheduledBackupReconciler({ rest, events: new EventRecorder(rest, "kvraft-operator", "test", () => {}), log, metrics, nowMs: () => nowMs });
  }, 300_000);
  afterAll(async () => {
    await rig?.stop();
  }, 60_000);

  const backups = async (schedule: string): Promise<KVRaftBackup[]> =>
    (await rig.getJson<{ items: KVRaftBackup[] }>(["get", "kvraftbackups", "-n", NS, "-l", `kvraft.io/scheduled-backup=${schedule}`, "-o", "json"])).items
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const scheduled = (name: string): Promise<KVRaftScheduledBackup> => rig.getJson<KVRaftScheduledBackup>(["get", "kvraftscheduledbackup", name, "-n", NS, "-o", "json"]);
  const events = async (name: string): Promise<EventJson[]> =>
    (await rig.getJson<{ items: EventJson[] }>(["get", "events", "-n", NS, "--field-selector", `involvedObject.name=${name}`, "-o", "json"])).items;
  const complete = async (backup: string): Promise<void> => {
    const status = { phase: "Completed", completionTime: new Date(nowMs).toISOString(), sizeBytes: 100, revision: 7 };
    await rig.kubectlOk(["patch", "kvraftbackup", backup, "-n", NS, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
  };
  /**
   * The clock one minute on, then one reconcile of `name` that succeeds: a fresh CRD's
   * storage answers 429 for a moment, which the operator's next poll would outlast.
   */
  const step = async (name: string): Promise<void> => {
    nowMs += MINUTE_MS;
    await waitFor(`a reconcile of ${name}`, async () => {
      try {
        await reconciler.reconcile(await scheduled(name));
        return true;
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 429) return undefined;
        throw error;
      }
    }, 30_000, 200);
  };

  it("refuses a schedule of the wrong shape, a retention count of 0 and a name too long for its backups' Jobs", async () => {
    const apply = (name: string, spec: Record<string, unknown>) => rig.kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({ apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftScheduledBackup", metadata: { name, namespace: NS }, spec: { cluster: "example", target: { claimName: "backups" }, ...spec } }),
    });
    const wrongShape = await apply("bad", { schedule: "every night" });
    expect(wrongShape.code).not.toBe(0);
    expect(wrongShape.stderr).toMatch(/spec.schedule: Invalid value/);
    const zero = await apply("bad", { schedule: "0 3 * * *", retention: { count: 0 } });
    expect(zero.stderr).toMatch(/spec.retention.count: Invalid value: 0: spec.retention.count in body should be greater than or equal to 1/);
    const long = await apply("n".repeat(46), { schedule: "0 3 * * *" });
    expect(long.stderr).toContain("the name must be at most 45 characters");
    const outside = await apply("bad", { schedule: "0 3 * * *", target: { claimName: "backups", pathPrefix: "../etc" } });
    expect(outside.stderr).toContain("spec.target.pathPrefix must be relative to the claim's root");
  });

  it("a schedule of the right shape but impossible values: ScheduleValid False and an Event, no backup", async () => {
    await rig.apply({ apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftScheduledBackup", metadata: { name: "minute61", namespace: NS }, spec: { cluster: "example", schedule: "61 * * * *", target: { claimName: "backups" } } });
    nowMs = Date.parse((await scheduled("minute61")).metadata.creationTimestamp ?? "");
    await step("minute61");
    const condition = (await scheduled("minute61")).status?.conditions?.find((c) => c.type === "ScheduleValid");
    expect(condition).toMatchObject({ status: "False", reason: "InvalidSchedule" });
    expect(condition?.message).toMatch(/schedule "61 \* \* \* \*" does not parse: .*61/);
    expect((await events("minute61")).map((e) => e.reason)).toContain("InvalidSchedule");
    expect(await backups("minute61")).toEqual([]);
    await rig.kubectlOk(["delete", "kvraftscheduledbackup", "minute61", "-n", NS]);
  });

  it("makes a backup each minute, one at a time, never two for a slot, and prunes down to the retention count", async () => {
    await rig.apply(parse(readFileSync(new URL("../../examples/cluster.yaml", import.meta.url), "utf8")) as object, ["-n", NS]);
    await rig.apply({
      apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftScheduledBackup", metadata: { name: "often", namespace: NS },
      spec: { cluster: "example", schedule: "* * * * *", target: { claimName: "backups" }, retention: { count: 2 } },
    });
    const created = Date.parse((await scheduled("often")).metadata.creationTimestamp ?? "");
    // The first slot strictly after the creation (a slot at the very second of creation is not run).
    const firstSlot = (Math.floor(created / MINUTE_MS) + 1) * MINUTE_MS;
    nowMs = firstSlot + 1000 - MINUTE_MS;
    // Through the LIST the operator's poll makes, this once: every KVRaftScheduledBackup in the namespace.
    nowMs += MINUTE_MS;
    await waitFor("the first backup", async () => {
      await reconcileScheduledBackups(reconciler, rest, NS, log, said);
      return (await backups("often")).length > 0 ? true : undefined;
    }, 90_000, 200);
    const [first] = await backups("often");
    expect(first?.metadata.name).toBe(`often-${firstSlot / 1000}`);
    const owner = await scheduled("often");
    expect(first?.metadata.ownerReferences?.[0]).toMatchObject({ kind: "KVRaftScheduledBackup", name: "often", uid: owner.metadata.uid, controller: true });
    expect(first?.spec).toEqual({ cluster: "example", target: { claimName: "backups", path: `example/often-${firstSlot / 1000}.kvbackup` } });
    expect(owner.status).toMatchObject({ lastBackup: first?.metadata.name, lastBackupPhase: "Pending", lastScheduleTime: new Date(firstSlot).toISOString(), nextScheduleTime: new Date(firstSlot + MINUTE_MS).toISOString() });

    // A restarted operator that lost the status write sees the same slot: it finds the backup by name.
    const stale: KVRaftScheduledBackup = { ...owner, status: {} };
    await new ScheduledBackupReconciler({ rest, events: new EventRecorder(rest, "kvraft-operator", "restarted", () => {}), log, nowMs: () => nowMs }).reconcile({ ...stale, apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftScheduledBackup" });
    expect((await backups("often")).map((b) => b.metadata.name)).toEqual([first?.metadata.name]);

    // The next slot comes while the first backup is unfinished: skipped, and said.
    await step("often");
    expect(await backups("often")).toHaveLength(1);
    expect((await events("often")).find((e) => e.reason === "ScheduleSkipped")?.message).toContain(`KVRaftBackup ${first?.metadata.name ?? ""} is not finished`);

    // Completed, one each minute: a third completed one makes the oldest go (retention.count 2).
    for (let i = 0; i < 3; i += 1) {
      const newest = (await backups("often")).at(-1);
      await complete(newest?.metadata.name ?? "");
      await step("often");
    }
    await step("often"); // the pruning reconcile sees the newest completed ones
    const left = await backups("often");
    expect(left.map((b) => b.metadata.name)).not.toContain(first?.metadata.name);
    expect(left.filter((b) => b.status?.phase === "Completed")).toHaveLength(2);
    const pruneJob = await rig.getJson<{ metadata: { ownerReferences: { name: string }[]; annotations: Record<string, string> }; spec: { template: { spec: { containers: { args: string[] }[] } } } }>(
      ["get", "job", `${first?.metadata.name ?? ""}-prune`, "-n", NS, "-o", "json"]);
    expect(pruneJob.spec.template.spec.containers[0]?.args).toEqual(["backup", "remove", `/backup/example/${first?.metadata.name ?? ""}.kvbackup`]);
    expect(pruneJob.metadata.ownerReferences[0]?.name).toBe("often");
    expect((await events("often")).map((e) => e.reason)).toEqual(expect.arrayContaining(["BackupScheduled", "ScheduleSkipped", "BackupPruned"]));
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/kvraft_operator_scheduled_backup_slots_total\{outcome="skipped"\} [1-9]/);
    expect(text).toMatch(/kvraft_operator_backups_pruned_total [1-9]/);

    const table = await rig.kubectlOk(["get", "kvraftscheduledbackups", "-n", NS]);
    expect(table.split("\n")[0]).toMatch(/NAME\s+CLUSTER\s+SCHEDULE\s+LAST SCHEDULE\s+LAST BACKUP\s+PHASE\s+AGE/);
    expect(table).toMatch(/often\s+example\s+\* \* \* \* \*\s+\S+\s+often-\d+\s+(Pending|Completed)/);
  }, 240_000);
});
