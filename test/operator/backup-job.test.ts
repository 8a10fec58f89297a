import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { registerBackupCommand } from "../../src/cli/backup-command.js";
import { backupStatus, type BackupJobView, parseTakeOutcome } from "../../src/operator/backup-status.js";
import type { KVRaftBackup } from "../../src/operator/backup-types.js";
import { backupJob, backupPathProblem } from "../../src/operator/desired/backup-job.js";
import { makeCluster } from "./fixtures.js";

interface Container { args: string[]; image: string; volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[]; terminationMessagePath: string }
interface JobSpec {
  backoffLimit: number;
  template: { metadata: { labels: Record<string, string> }; spec: { restartPolicy: string; containers: Container[]; volumes: Record<string, unknown>[]; automountServiceAccountToken: boolean } };
}

function makeBackup(target: KVRaftBackup["spec"]["target"] = { claimName: "backups" }, status?: KVRaftBackup["status"]): KVRaftBackup {
  return {
    apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftBackup",
    metadata: { name: "nightly", namespace: "db", uid: "9a9a9a9a-0000-4000-8000-000000000001", generation: 1 },
    spec: { cluster: "kv", target }, ...(status === undefined ? {} : { status }),
  };
}

const specOf = (job: ReturnType<typeof backupJob>): JobSpec => (job as unknown as { spec: JobSpec }).spec;

/** The Job's arguments as the real `kvraft backup take` parses them. */
function parsedTake(args: string[]): Record<string, unknown> {
  const program = new Command().exitOverride();
  let flags: Record<string, unknown> = {};
  registerBackupCommand(program);
  const take = program.commands.find((c) => c.name() === "backup")?.commands.find((c) => c.name() === "take");
  take?.action((options: Record<string, unknown>) => { flags = options; });
  program.parse(["node", "kvraft", ...args]);
  return flags;
}

describe("the backup Job (desired)", () => {
  const cluster = makeCluster();

  it("runs `kvraft backup take` into the claim, against every member's admin port, with the admin token and the CA", () => {
    const job = backupJob(makeBackup(), cluster);
    expect(job.metadata).toMatchObject({ name: "nightly-backup", namespace: "db" });
    expect(job.metadata.ownerReferences).toEqual([{ apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftBackup", name: "nightly", uid: "9a9a9a9a-0000-4000-8000-000000000001", controller: true, blockOwnerDeletion: true }]);
    const spec = specOf(job);
    const container = spec.template.spec.containers[0] as Container;
    expect(container.image).toBe("kvraft:test");
    const flags = parsedTake(container.args);
    expect(flags).toMatchObject({
      to: "/backup/kv/nightly.kvbackup",
      endpoints: ["kv-0", "kv-1", "kv-2"].map((pod) => `https://${pod}.kv-peer.db.svc.cluster.local:8081`).join(","),
      tokenFile: "/etc/kvraft/admin/token", cacert: "/etc/kvraft/ca/ca.crt", terminationMessagePath: "/dev/termination-log", output: "json",
    });
    expect(container.terminationMessagePath).toBe("/dev/termination-log");
    expect(spec.template.spec.restartPolicy).toBe("Never");
    expect(spec.template.spec.automountServiceAccountToken).toBe(false);
    // The admin token as the server pods mount it; the public CA bundle, never the members' keys.
    expect(spec.template.spec.volumes).toEqual(expect.arrayContaining([
      { name: "target", persistentVolumeClaim: { claimName: "backups" } },
      { name: "admin-token", secret: { secretName: "kv-admin-token", defaultMode: 0o440 } },
      { name: "ca", configMap: { name: "kv-ca", items: [{ key: "ca.crt", path: "ca.crt" }] } },
    ]));
    expect(JSON.stringify(spec.template.spec.volumes)).not.toContain("tls-members");
    expect(spec.template.metadata.labels).toMatchObject({ "app.kubernetes.io/instance": "kv", "app.kubernetes.io/component": "backup" });
  });

  it("without TLS uses plain http and mounts no CA; a path in the spec is kept", () => {
    const plain = makeCluster({ tls: { enabled: false } } as Parameters<typeof makeCluster>[0]);
    const container = specOf(backupJob(makeBackup({ claimName: "backups", path: "weekly/kv.kvbackup" }), plain)).template.spec.containers[0] as Container;
    const flags = parsedTake(container.args);
    expect(flags["to"]).toBe("/backup/weekly/kv.kvbackup");
    expect(String(flags["endpoints"])).toMatch(/^http:\/\/kv-0\./);
    expect(flags["cacert"]).toBeUndefined();
    expect(container.volumeMounts.map((m) => m.name)).toEqual(["target", "admin-token"]);
  });

  it("refuses a path that leaves the claim", () => {
    for (const path of ["/etc/passwd", "../other/x", "a/../../b", "a//b", "./a"]) expect(backupPathProblem(path), path).toBeDefined();
    expect(backupPathProblem("nightly/kv.kvbackup")).toBeUndefined();
    expect(() => backupJob(makeBackup({ claimName: "backups", path: "../x" }), cluster)).toThrow(/spec.target.path must not contain/);
  });
});

const job = (conditions: BackupJobView["conditions"], active = 0): BackupJobView => ({ conditions, active, startTime: "2026-12-06T01:00:00Z" });
const COMPLETED = JSON.stringify({ phase: "Completed", file: "/backup/kv/nightly.kvbackup", fileBytes: 12345, clusterId: "c-1", revision: 77, raftIndex: 77, raftTerm: 4, durationMs: 900, message: "backup of revision 77 written" });

describe("the backup's status (from its Job)", () => {
  it("is Pending until the Job exists, saying why", () => {
    expect(backupStatus(makeBackup(), undefined, undefined)).toMatchObject({ phase: "Pending", message: "creating the backup Job", claimName: "backups", path: "kv/nightly.kvbackup" });
    expect(backupStatus(makeBackup(), undefined, undefined, "KVRaftCluster kv does not exist in db")).toMatchObject({ phase: "Pending", message: "KVRaftCluster kv does not exist in db" });
  });

  it("is Running while a pod runs, and says when an earlier try failed", () => {
    expect(backupStatus(makeBackup(), job([], 1), undefined)).toMatchObject({ phase: "Running", message: "taking the backup" });
    const failedTry = JSON.stringify({ phase: "Failed", message: "no backup taken within --wait" });
    expect(backupStatus(makeBackup(), job([], 1), failedTry).message).toBe("taking the backup; a previous try failed: no backup taken within --wait");
  });

  it("is Completed only when the Job is, with size, revision, index, term and duration from the termination message", () => {
    const status = backupStatus(makeBackup(), { ...job([{ type: "Complete", status: "True" }]), completionTime: "2026-12-06T01:00:02Z" }, COMPLETED);
    expect(status).toEqual({
      phase: "Completed", claimName: "backups", path: "kv/nightly.kvbackup", sizeBytes: 12345, revision: 77, raftIndex: 77, raftTerm: 4, clusterId: "c-1",
      durationMs: 900, startTime: "2026-12-06T01:00:00Z", completionTime: "2026-12-06T01:00:02Z", message: "backup of revision 77 written", observedGeneration: 1,
    });
    // A Completed message from a pod whose Job has not completed does not make the backup Completed.
    expect(backupStatus(makeBackup(), job([], 1), COMPLETED).phase).toBe("Running");
    expect(backupStatus(makeBackup(), job([{ type: "Complete", status: "True" }]), "not json").message).toMatch(/left no termination message/);
  });

  it("is Failed when the Job is, with take's reason or else the Job's", () => {
    const failed = JSON.stringify({ phase: "Failed", durationMs: 600000, message: "no backup taken within --wait 600000 ms" });
    expect(backupStatus(makeBackup(), job([{ type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" }]), failed))
      .toMatchObject({ phase: "Failed", message: "no backup taken within --wait 600000 ms", durationMs: 600000 });
    expect(backupStatus(makeBackup(), job([{ type: "Failed", status: "True", reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" }]), undefined).message)
      .toBe("DeadlineExceeded: Job was active longer than specified deadline");
  });

  it("keeps a finished status for good, even once the Job is gone", () => {
    const done = { phase: "Completed" as const, revision: 77, sizeBytes: 12345 };
    expect(backupStatus(makeBackup(undefined, done), undefined, undefined)).toBe(done);
  });

  it("reads only well-formed fields of a termination message", () => {
    expect(parseTakeOutcome(JSON.stringify({ phase: "Completed", revision: -1, fileBytes: "12", clusterId: 5, raftTerm: 3 }))).toEqual({ phase: "Completed", raftTerm: 3 });
    expect(parseTakeOutcome(JSON.stringify({ phase: "Done" }))).toBeUndefined();
    expect(parseTakeOutcome("[1,2]")).toBeUndefined();
    expect(parseTakeOutcome(JSON.stringify({ phase: "Failed", message: "x".repeat(5000) }))?.message).toHaveLength(1024);
  });
});
