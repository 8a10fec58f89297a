/**
 * The real-pod scenarios of issue 20's backups: a KVRaftBackup of the example cluster
 * taken under writes, a second cluster founded from it (spec.bootstrap.fromBackup) that
 * holds exactly the state at the backup's revision, and a cluster bootstrapped from a
 * copy with one flipped byte, which is refused before any member starts. What the other
 * backup scenarios (scheduled-backup-scenario.ts, leader-killed-backup-scenario.ts) share
 * with these is here too: the backup claim, where it is on this machine, and verify.
 */
import { execFile } from "node:child_process";
import { chownSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "vitest";
import { parseAllDocuments } from "yaml";
import type { DevCluster } from "../../src/devcluster/dev-cluster.js";
import type { BackupStatus } from "../../src/operator/backup-types.js";
import type { ClusterStatus } from "../../src/operator/types.js";
import { REPO_ROOT } from "../chart/chart-render.js";
import { waitFor } from "../support/wait.js";
import {
  CLUSTER, clientHttp, clusterCredentials, clusterStatus, type ClusterCredentials, httpsJson, NAMESPACE, readAllKeys, serverPods, waitRunning,
} from "./scenario-support.js";

/** From examples/backup.yaml: the backup, its claim, and the file's path in it. */
export const BACKUP = "example-first";
export const BACKUP_CLAIM = "kvraft-backups";
const BACKUP_PATH = "example/first.kvbackup";
const CORRUPT_PATH = "example/corrupt.kvbackup";
/** The second cluster, founded from the backup, and the one refused a corrupt copy. */
export const RESTORED = "restored";
export const REFUSED = "refused";
/** Keys of the known data set, overwritten in turn so the state at one revision differs from a later one. */
const KEY_PREFIX = "boot/";
export const KEYS = 64;
/** Writes acknowledged after the backup completed: the restored state must hold none of them. */
const WRITES_AFTER_BACKUP = 40;
/** The image's user (Dockerfile), who owns what is on a claim. */
const IMAGE_USER_ID = 1000;
const WRITE_TIMEOUT_MS = 10_000;

export type Kubectl = (args: readonly string[], input?: string) => Promise<string>;

interface Ack { readonly key: string; readonly value: string; readonly revision: number }

/** One writer, one write at a time, each acknowledged with its revision before the next: the state at any revision is known exactly. */
export class KnownWriter {
  readonly acks: Ack[] = [];
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(private readonly endpoint: string, private readonly credentials: ClusterCredentials, private readonly keyPrefix = KEY_PREFIX) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      const key = `${this.keyPrefix}k${String(n % KEYS).padStart(3, "0")}`;
      const value = `v${n}`;
      const { status, body } = await httpsJson<{ revision?: number }>("PUT", `https://${this.endpoint}/v1/kv/${encodeURIComponent(key)}`, this.credentials, WRITE_TIMEOUT_MS, value);
      // No fault is injected here: a write that is not acknowledged is a failure of the scenario, not a case to guess about.
      if (status !== 200 || typeof body.revision !== "number") throw new Error(`PUT ${key}: ${status} ${JSON.stringify(body)}`);
      this.acks.push({ key, value, revision: body.revision });
    }
  }

  /** The value of every key with all acknowledged writes up to `revision` applied. */
  stateAt(revision: number): Map<string, string> {
    const state = new Map<string, string>();
    for (const ack of [...this.acks].sort((a, b) => a.revision - b.revision)) if (ack.revision <= revision) state.set(ack.key, ack.value);
    return state;
  }
}

/** A KVRaftCluster of the example's image founded from a backup; no coordinator (the machine has two cores). */
function clusterFromBackup(name: string, replicas: number, fromBackup: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftCluster", metadata: { name, namespace: NAMESPACE },
    spec: { replicas, image: "kvraft:0.1.0", coordinator: { replicas: 0 }, bootstrap: { fromBackup } },
  });
}

async function backupStatus(dev: DevCluster): Promise<BackupStatus | undefined> {
  return (await dev.controlPlane.getJson<{ status?: BackupStatus }>(["get", "kvraftbackup", BACKUP, "-n", NAMESPACE, "-o", "json"])).status;
}

/**
 * Scenario 11, run inside the example cluster's load: the known data set written, the
 * backup applied and followed to Completed while the writer goes on, then more writes.
 * Returns the backup's status and what the writer saw.
 */
export async function takeBackupUnderWrites(dev: DevCluster, kubectl: Kubectl, timeoutMs: number): Promise<{ backup: BackupStatus; writer: KnownWriter; figures: string }> {
  const writer = new KnownWriter(await clientHttp(dev), await clusterCredentials(dev));
  writer.start();
  try {
    await waitFor("the known data set written once", () => writer.acks.length >= KEYS || undefined, 60_000, 100);
    const startedAt = Date.now();
    await kubectl(["apply", "-n", NAMESPACE, "-f", join(REPO_ROOT, "examples", "backup.yaml")]);
    const backup = await waitFor(`KVRaftBackup ${BACKUP} Completed`, async () => {
      const status = await backupStatus(dev);
      if (status?.phase === "Failed") throw new Error(`the backup failed: ${status.message ?? ""}`);
      return status?.phase === "Completed" ? status : undefined;
    }, timeoutMs, 1_000);
    const took = (Date.now() - startedAt) / 1000;
    const acksAtCompletion = writer.acks.length;
    await waitFor(`${WRITES_AFTER_BACKUP} writes after the backup`, () => writer.acks.length >= acksAtCompletion + WRITES_AFTER_BACKUP || undefined, 60_000, 100);
    return { backup, writer, figures: `backup Completed in ${took.toFixed(1)} s at revision ${backup.revision ?? "?"}, ${backup.sizeBytes ?? "?"} bytes` };
  } finally {
    await writer.stop();
  }
}

/**
 * Scenario 11, after the load: `kubectl get kvraftbackups` prints the phase, size and
 * revision; a cluster founded from the backup reaches Running with every member, holds
 * exactly the known keys as they were at the backup's revision, and takes writes.
 */
export async function restoreIntoNewCluster(dev: DevCluster, kubectl: Kubectl, backup: BackupStatus, writer: KnownWriter, timeoutMs: number): Promise<string> {
  const revision = backup.revision;
  if (revision === undefined) throw new Error("the Completed backup has no revision in its status");
  const table = (await kubectl(["get", "kvraftbackups", "-n", NAMESPACE])).trim().split("\n").map((line) => line.split(/\s+/));
  expect(table[0]).toEqual(["NAME", "CLUSTER", "PHASE", "SIZE", "REVISION", "AGE"]);
  expect(table.find((row) => row[0] === BACKUP)?.slice(0, 5)).toEqual([BACKUP, CLUSTER, "Completed", String(backup.sizeBytes), String(revision)]);
  // The writer's history brackets the backup: writes on both sides of its revision.
  expect(writer.acks.some((a) => a.revision <= revision) && writer.acks.some((a) => a.revision > revision)).toBe(true);

  const startedAt = Date.now();
  await kubectl(["apply", "-f", "-"], clusterFromBackup(RESTORED, 3, { backupName: BACKUP }));
  const running = await waitRunning(dev, 3, timeoutMs, RESTORED);
  const tookS = (Date.now() - startedAt) / 1000;
  expect(running.bootstrap).toMatchObject({ phase: "Restored", backupName: BACKUP, claimName: BACKUP_CLAIM, path: BACKUP_PATH, revision });
  const exampleUid = (await kubectl(["get", "kvr", CLUSTER, "-n", NAMESPACE, "-o", "jsonpath={.metadata.uid}"])).trim();
  expect(running.bootstrap?.sourceClusterId).toBe(exampleUid);
  expect(running.conditions?.find((c) => c.type === "Bootstrapped")).toMatchObject({ status: "True", reason: "RestoredFromBackup" });

  const endpoint = await clientHttp(dev, RESTORED);
  const credentials = await clusterCredentials(dev, RESTORED);
  const restored = await readAllKeys(endpoint, KEY_PREFIX, credentials);
  const expected = writer.stateAt(revision);
  expect(new Map([...restored].map(([key, kv]) => [key, kv.value]))).toEqual(expected);
  // A later state would differ: the test could tell a restore of the wrong revision.
  expect(writer.stateAt(Number.MAX_SAFE_INTEGER)).not.toEqual(expected);

  const put = await httpsJson<{ revision?: number }>("PUT", `https://${endpoint}/v1/kv/${encodeURIComponent(`${KEY_PREFIX}after-restore`)}`, credentials, WRITE_TIMEOUT_MS, "written to the new cluster");
  expect(put.status).toBe(200);
  expect(put.body.revision).toBeGreaterThan(revision);
  expect((await readAllKeys(endpoint, `${KEY_PREFIX}after-restore`, credentials)).get(`${KEY_PREFIX}after-restore`)?.value).toBe("written to the new cluster");
  return `${RESTORED} Running 3/3 from ${BACKUP} in ${tookS.toFixed(1)} s; ${expected.size} keys match revision ${revision} key by key; it takes writes (revision ${put.body.revision ?? "?"})`;
}

/** How long a new claim may wait for its volume: it is bound when the first pod that mounts it is scheduled. */
const CLAIM_BOUND_TIMEOUT_MS = 120_000;

/** Where the backup claim's folder is on this machine (the dev cluster's volumes are local folders of its nodes), once it is bound. */
export async function claimFolder(kubectl: Kubectl, claim: string): Promise<string> {
  const volume = await waitFor(`claim ${claim} bound to a volume`, async () =>
    (await kubectl(["get", "pvc", claim, "-n", NAMESPACE, "-o", "jsonpath={.spec.volumeName}"])).trim() || undefined, CLAIM_BOUND_TIMEOUT_MS, 250);
  const path = (await kubectl(["get", "pv", volume, "-o", "jsonpath={.spec.local.path}"])).trim();
  if (path === "") throw new Error(`PersistentVolume ${volume} of claim ${claim} has no local path`);
  return path;
}

/**
 * Scenario 12: a copy of the backup with one byte of its body flipped, on the same claim;
 * a cluster bootstrapped from it is refused with the reader's words in a condition and a
 * Warning Event, and no member starts (no StatefulSet, no server pod).
 */
export async function refuseCorruptBackup(dev: DevCluster, kubectl: Kubectl, timeoutMs: number): Promise<string> {
  const folder = await claimFolder(kubectl, BACKUP_CLAIM);
  const bytes = readFileSync(join(folder, BACKUP_PATH));
  const flippedAt = Math.floor(bytes.length / 2);
  bytes[flippedAt] = (bytes[flippedAt] ?? 0) ^ 0x01;
  writeFileSync(join(folder, CORRUPT_PATH), bytes);
  chownSync(join(folder, CORRUPT_PATH), IMAGE_USER_ID, IMAGE_USER_ID);

  await kubectl(["apply", "-f", "-"], clusterFromBackup(REFUSED, 1, { claimName: BACKUP_CLAIM, path: CORRUPT_PATH }));
  const status = await waitFor(`${REFUSED} refused`, async () => {
    const now: ClusterStatus = await clusterStatus(dev, REFUSED);
    return now.bootstrap?.phase === "Refused" ? now : undefined;
  }, timeoutMs, 1_000);
  expect(status.phase).toBe("Failed");
  const condition = status.conditions?.find((c) => c.type === "Bootstrapped");
  expect(condition).toMatchObject({ status: "False", reason: "BackupRefused" });
  expect(condition?.message).toMatch(/is not a sound KVRaft backup: body at byte \d+: bytes \d+-\d+ fail their checksum/);
  const events = await dev.controlPlane.getJson<{ items: { type: string; reason: string; message: string }[] }>(
    ["get", "events", "-n", NAMESPACE, "--field-selector", `involvedObject.kind=KVRaftCluster,involvedObject.name=${REFUSED},reason=BackupRefused`, "-o", "json"]);
  expect(events.items.map((e) => e.type)).toEqual(["Warning"]);
  expect(events.items[0]?.message).toMatch(/fail their checksum/);
  expect(await serverPods(dev, REFUSED)).toEqual([]);
  expect((await kubectl(["get", "statefulsets", "-n", NAMESPACE, "-o", "name"])).split("\n")).not.toContain(`statefulset.apps/${REFUSED}`);
  return `byte ${flippedAt} of ${bytes.length} flipped: ${REFUSED} refused (${condition?.message?.slice(0, 120) ?? ""}...); no StatefulSet, no server pod`;
}

/**
 * Clusters of these scenarios deleted (their objects and restore Jobs go with them) with
 * their claims (Retain keeps them), waited for until none of their pods is left.
 */
export async function removeClusters(dev: DevCluster, kubectl: Kubectl, names: readonly string[], replicas: number): Promise<void> {
  await kubectl(["delete", "kvr", ...names, "-n", NAMESPACE, "--ignore-not-found", "--wait=false"]);
  await waitFor(`the pods of ${names.join(", ")} to be gone`, async () =>
    (await kubectl(["get", "pods", "-n", NAMESPACE, "-l", `app.kubernetes.io/instance in (${names.join(",")})`, "-o", "name"])).trim() === "" || undefined,
  180_000, 1_000, () => dev.assertHealthy());
  const claims = names.flatMap((name) => Array.from({ length: replicas }, (_, i) => `data-${name}-${i}`));
  await kubectl(["delete", "pvc", ...claims, "-n", NAMESPACE, "--ignore-not-found"]);
}

/**
 * The claim of examples/backup.yaml alone (not its backup): scenarios after 12, which
 * removes it, make it again for their own files.
 */
export async function applyBackupClaim(kubectl: Kubectl): Promise<void> {
  const documents = parseAllDocuments(readFileSync(join(REPO_ROOT, "examples", "backup.yaml"), "utf8")).map((d) => d.toJSON() as { kind?: string });
  const claim = documents.find((d) => d.kind === "PersistentVolumeClaim");
  if (claim === undefined) throw new Error("examples/backup.yaml holds no PersistentVolumeClaim");
  await kubectl(["apply", "-n", NAMESPACE, "-f", "-"], JSON.stringify(claim));
}

/**
 * Backup objects deleted (`kind/name`; their Jobs and pods go with them), waited for
 * until no pod of a backup or prune Job is left, then the backup claim and its files.
 */
export async function removeBackups(dev: DevCluster, kubectl: Kubectl, objects: readonly string[]): Promise<void> {
  await kubectl(["delete", ...objects, "-n", NAMESPACE, "--ignore-not-found", "--wait=false"]);
  for (const label of ["kvraft.io/backup", "kvraft.io/scheduled-backup"]) {
    await waitFor(`the pods of backup Jobs (${label}) to be gone`, async () =>
      (await kubectl(["get", "pods", "-n", NAMESPACE, "-l", label, "-o", "name"])).trim() === "" || undefined, 180_000, 1_000, () => dev.assertHealthy());
  }
  await kubectl(["delete", "pvc", BACKUP_CLAIM, "-n", NAMESPACE, "--ignore-not-found"]);
}

/** What `kvraft backup verify --output json` says of a file on this machine; it exits 0 only for a sound backup. */
export interface VerifiedFile { readonly verified: boolean; readonly revision: number; readonly fileBytes: number; readonly clusterId: string }

export async function verifyBackupFile(file: string): Promise<VerifiedFile> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(REPO_ROOT, "dist", "cli.js"), "backup", "verify", file, "--output", "json"], { encoding: "utf8", timeout: 60_000 });
  return JSON.parse(stdout) as VerifiedFile;
}
