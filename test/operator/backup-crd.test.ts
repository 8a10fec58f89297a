import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { backupStatus } from "../../src/operator/backup-status.js";
import { BACKUP_KIND, BACKUP_PLURAL, type BackupPhase, type KVRaftBackup } from "../../src/operator/backup-types.js";
import { BACKUP_MESSAGE_CHARS_MAX } from "../../src/operator/backup-status.js";
import { backupJob } from "../../src/operator/desired/backup-job.js";
import { API_GROUP, API_VERSION, type KVRaftCluster } from "../../src/operator/types.js";
import { type Schema, schemaProblems } from "./schema-check.js";

interface Crd {
  metadata: { name: string };
  spec: {
    group: string; scope: string; names: { kind: string; plural: string; shortNames: string[] };
    versions: { name: string; served: boolean; storage: boolean; subresources: Record<string, unknown>; additionalPrinterColumns: { name: string; jsonPath: string }[]; schema: { openAPIV3Schema: Schema } }[];
  };
}

const crd = parse(readFileSync(new URL("../../crds/kvraftbackup.yaml", import.meta.url), "utf8")) as Crd;
const version = crd.spec.versions[0] as Crd["spec"]["versions"][number];
const root = version.schema.openAPIV3Schema;
const prop = (schema: Schema, ...path: string[]): Schema => path.reduce<Schema>((s, key) => s.properties?.[key] as Schema, schema);

const BACKUP: KVRaftBackup = {
  apiVersion: `${API_GROUP}/${API_VERSION}`, kind: BACKUP_KIND,
  metadata: { name: "nightly", namespace: "db", uid: "u-1", generation: 1 },
  spec: { cluster: "kv", target: { claimName: "backups", path: "kv/nightly.kvbackup" } },
};

describe("the KVRaftBackup CRD", () => {
  it("names the resource as the operator's code does, with a status subresource", () => {
    expect(crd.metadata.name).toBe(`${BACKUP_PLURAL}.${API_GROUP}`);
    expect(crd.spec).toMatchObject({ group: API_GROUP, scope: "Namespaced", names: { kind: BACKUP_KIND, plural: BACKUP_PLURAL, shortNames: ["kvrb"] } });
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([[API_VERSION, true, true]]);
    expect(version.subresources).toEqual({ status: {} });
  });

  it("prints phase, size and revision (kubectl get kvraftbackups)", () => {
    const columns = Object.fromEntries(version.additionalPrinterColumns.map((c) => [c.name, c.jsonPath]));
    expect(columns).toMatchObject({ Cluster: ".spec.cluster", Phase: ".status.phase", Size: ".status.sizeBytes", Revision: ".status.revision" });
  });

  it("requires a cluster and a claim; an example backup fits the schema, a misspelt field does not", () => {
    const spec = prop(root, "spec");
    expect(spec.required).toEqual(["cluster", "target"]);
    expect(prop(spec, "target").required).toEqual(["claimName"]);
    // metadata is the API server's to check (the CRD says only "object").
    const asObject = { ...BACKUP, metadata: {} } as unknown as Record<string, unknown>;
    expect(schemaProblems(asObject, root)).toEqual([]);
    expect(schemaProblems({ ...asObject, spec: { cluster: "kv", target: { claim: "backups" } } }, root)).toEqual([".spec.target.claimName: required", ".spec.target.claim: not in the schema"]);
  });

  it("examples/backup.yaml fits the schema and makes a Job for examples/cluster.yaml's cluster", () => {
    const documents = parseAllDocuments(readFileSync(new URL("../../examples/backup.yaml", import.meta.url), "utf8")).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
    const example = documents.find((d) => d.kind === BACKUP_KIND) as unknown as KVRaftBackup;
    const claim = documents.find((d) => d.kind === "PersistentVolumeClaim");
    expect(schemaProblems({ ...example, metadata: {} }, root)).toEqual([]);
    expect(example.spec.target.claimName).toBe(claim?.metadata.name);
    const cluster = parse(readFileSync(new URL("../../examples/cluster.yaml", import.meta.url), "utf8")) as KVRaftCluster;
    expect(example.spec.cluster).toBe(cluster.metadata.name);
    const job = backupJob({ ...example, metadata: { ...example.metadata, namespace: "default", uid: "u-2" } }, { ...cluster, metadata: { ...cluster.metadata, namespace: "default" } });
    expect(JSON.stringify(job)).toContain("/backup/example/first.kvbackup");
  });

  it("keeps the path inside the claim and the spec immutable, with CEL rules that say what to do", () => {
    const pathRules = prop(root, "spec", "target", "path")["x-kubernetes-validations"] ?? [];
    expect(pathRules[0]?.rule).toContain("!self.startsWith('/')");
    expect(pathRules[0]?.rule).toContain("p == '..'");
    expect(pathRules[0]?.message).toMatch(/relative to the claim's root/);
    const specRules = prop(root, "spec")["x-kubernetes-validations"] ?? [];
    expect(specRules.map((r) => r.rule)).toEqual(["self == oldSelf"]);
    expect(specRules[0]?.message).toMatch(/make a new KVRaftBackup/);
  });

  it("has a status schema that holds every status the operator writes", () => {
    const phases: BackupPhase[] = ["Pending", "Running", "Completed", "Failed"];
    expect(prop(root, "status", "phase").enum).toEqual(phases);
    expect(prop(root, "status", "message").maxLength).toBe(BACKUP_MESSAGE_CHARS_MAX);
    const completed = backupStatus(BACKUP, { conditions: [{ type: "Complete", status: "True" }], active: 0, startTime: "2026-12-06T01:00:00Z", completionTime: "2026-12-06T01:00:02Z" },
      JSON.stringify({ phase: "Completed", fileBytes: 10, revision: 7, raftIndex: 7, raftTerm: 2, clusterId: "c", durationMs: 5, message: "ok" }));
    const statuses = [completed, backupStatus(BACKUP, undefined, undefined), backupStatus(BACKUP, { conditions: [], active: 1 }, undefined)];
    for (const status of statuses) expect(schemaProblems(status, prop(root, "status")), status.phase).toEqual([]);
    expect(Object.keys(completed).sort()).toEqual(Object.keys(prop(root, "status").properties ?? {}).sort());
  });
});
