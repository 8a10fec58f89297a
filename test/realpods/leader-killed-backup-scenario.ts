/**
 * Scenario 14 (issue 20): a KVRaftBackup taken while the leader is killed (its processes
 * SIGKILLed, its pod force-deleted) in the middle of its snapshot stream. It must end Completed with a sound file (the take
 * starts again on the new leader) or Failed saying why with no file under the backup's
 * name: never a partial file marked complete. The state is made large first, so that the
 * stream lasts long enough for the kill to land in it.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { DevCluster } from "../../src/devcluster/dev-cluster.js";
import type { BackupStatus } from "../../src/operator/backup-types.js";
import { stateIn } from "../support/backup-state.js";
import { waitFor } from "../support/wait.js";
import { BACKUP_CLAIM, claimFolder, type Kubectl, verifyBackupFile } from "./backup-scenarios.js";
import { CLUSTER, clientHttp, clusterCredentials, httpsJson, killPodProcesses, leaderId, NAMESPACE, waitRunning } from "./scenario-support.js";

export const LEADER_KILLED_BACKUP = "example-leader-killed";
const BACKUP_PATH = "example/leader-killed.kvbackup";
/** The large state: half the default valueBytesMax (1 MiB) per key, 48 MiB in all, which takes the leader seconds to stream on two loaded cores. */
const LARGE_PREFIX = "14-large/";
const LARGE_VALUE_BYTES = 512 * 1024;
const LARGE_KEYS = 96;
const LARGE_WRITES_PARALLEL = 4;
const LARGE_WRITE_TIMEOUT_MS = 30_000;
/** The leader is killed once this much of the stream is in FILE.partial on the claim. */
const PARTIAL_BYTES_KILL = 1024 * 1024;
/** How often FILE.partial is looked at: a local stat, cheap, and short beside the stream. */
const PARTIAL_POLL_MS = 20;

const largeKey = (n: number): string => `${LARGE_PREFIX}k${String(n).padStart(3, "0")}`;

/** Puts or deletes every key of the large state, a few at a time; the highest revision acknowledged. */
async function eachLargeKey(dev: DevCluster, method: "PUT" | "DELETE"): Promise<number> {
  const endpoint = await clientHttp(dev);
  const credentials = await clusterCredentials(dev);
  const value = method === "PUT" ? "x".repeat(LARGE_VALUE_BYTES) : undefined;
  let revisionMax = 0;
  for (let first = 0; first < LARGE_KEYS; first += LARGE_WRITES_PARALLEL) {
    await Promise.all(Array.from({ length: Math.min(LARGE_WRITES_PARALLEL, LARGE_KEYS - first) }, async (_, i) => {
      const key = largeKey(first + i);
      const { status, body } = await httpsJson<{ revision?: number }>(method, `https://${endpoint}/v1/kv/${encodeURIComponent(key)}`, credentials, LARGE_WRITE_TIMEOUT_MS, value);
      if (status !== 200) throw new Error(`${method} ${key}: ${status} ${JSON.stringify(body)}`);
      revisionMax = Math.max(revisionMax, body.revision ?? 0);
    }));
  }
  return revisionMax;
}

/** The large state written before the scenario's load starts; the revision of its last write. */
export async function writeLargeState(dev: DevCluster): Promise<{ revision: number; figures: string }> {
  const startedAt = Date.now();
  const revision = await eachLargeKey(dev, "PUT");
  const mib = (LARGE_KEYS * LARGE_VALUE_BYTES) / (1024 * 1024);
  return { revision, figures: `${mib} MiB in ${LARGE_KEYS} keys written in ${((Date.now() - startedAt) / 1000).toFixed(1)} s` };
}

/** The large state deleted, so that what comes after this scenario backs up and restores small states again. */
export async function removeLargeState(dev: DevCluster): Promise<void> {
  await eachLargeKey(dev, "DELETE");
}

async function backupStatus(dev: DevCluster): Promise<BackupStatus | undefined> {
  return (await dev.controlPlane.getJson<{ status?: BackupStatus }>(["get", "kvraftbackup", LEADER_KILLED_BACKUP, "-n", NAMESPACE, "-o", "json"])).status;
}

/**
 * Run inside the example cluster's load, after writeLargeState: the backup applied, the
 * leader pod force-deleted once the stream is under way, the backup followed to its end
 * and its outcome checked. Returns the figures.
 */
export async function backupWhileLeaderKilled(dev: DevCluster, kubectl: Kubectl, large: { revision: number }, timeoutMs: number): Promise<string> {
  const leader = await leaderId(await clientHttp(dev), await clusterCredentials(dev));
  const leaderPod = `${CLUSTER}-${leader - 1}`;
  const leaderUid = (await kubectl(["get", "pod", leaderPod, "-n", NAMESPACE, "-o", "jsonpath={.metadata.uid}"])).trim();
  const startedAt = Date.now();
  await kubectl(["apply", "-f", "-"], JSON.stringify({
    apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftBackup", metadata: { name: LEADER_KILLED_BACKUP, namespace: NAMESPACE },
    spec: { cluster: CLUSTER, target: { claimName: BACKUP_CLAIM, path: BACKUP_PATH } },
  }));
  // The claim is bound once the backup Job's pod is scheduled.
  const file = join(await claimFolder(kubectl, BACKUP_CLAIM), BACKUP_PATH);
  const partial = `${file}.partial`;
  const atKill = await waitFor(`${PARTIAL_BYTES_KILL} bytes of the stream in ${BACKUP_PATH}.partial`, () => {
    const bytes = existsSync(partial) ? statSync(partial).size : 0;
    if (bytes >= PARTIAL_BYTES_KILL) return { bytes, late: false };
    return existsSync(file) ? { bytes: statSync(file).size, late: true } : undefined;
  }, timeoutMs, PARTIAL_POLL_MS, () => dev.assertHealthy());
  // Killed outright: given SIGTERM, the old leader hands leadership over and finishes the
  // stream within its grace period, and the take never sees a break. Then the pod is
  // force-deleted, so that Kubernetes replaces it as after a lost node.
  const killedProcesses = killPodProcesses(leaderUid);
  await kubectl(["delete", "pod", leaderPod, "-n", NAMESPACE, "--grace-period=0", "--force", "--wait=false"]);
  // The kill was meant for the middle of the stream: a take that had already finished tests nothing.
  expect(atKill.late).toBe(false);
  expect(killedProcesses).toBeGreaterThan(0);

  const status = await waitFor(`KVRaftBackup ${LEADER_KILLED_BACKUP} Completed or Failed`, async () => {
    const now = await backupStatus(dev);
    return now?.phase === "Completed" || now?.phase === "Failed" ? now : undefined;
  }, timeoutMs, 1_000, () => dev.assertHealthy());
  const tookS = (Date.now() - startedAt) / 1000;
  await waitRunning(dev, 3, timeoutMs);
  const logs = await kubectl(["logs", "-n", NAMESPACE, "-l", `job-name=${LEADER_KILLED_BACKUP}-backup`, "--tail=-1"]);
  const broke = /the transfer broke after (\d+) bytes/.exec(logs);
  const answeredBy = /"answeredBy":\s*"([^"]+)"/.exec(logs)?.[1];
  // The take saw the stream break and started again: what this scenario is about.
  expect(broke, logs).not.toBeNull();
  const killed = `${leaderPod} (leader) killed (${killedProcesses} processes) and force-deleted with ${atKill.bytes} bytes in ${BACKUP_PATH}.partial; ` +
    `the take saw the transfer break after ${broke?.[1] ?? "?"} bytes`;
  // Never a partial file left beside the backup, whatever the outcome.
  expect(existsSync(partial)).toBe(false);
  if (status.phase === "Failed") {
    expect(status.message ?? "").toMatch(/\S/);
    expect(existsSync(file)).toBe(false);
    return `${killed}; backup Failed after ${tookS.toFixed(1)} s: "${status.message ?? ""}", no file at ${BACKUP_PATH}`;
  }
  const verified = await verifyBackupFile(file);
  expect(verified).toMatchObject({ verified: true, revision: status.revision, fileBytes: status.sizeBytes });
  // Every large key was acknowledged before the backup began: the file holds them all, whole.
  const { kv, revision } = await stateIn(file);
  expect(revision).toBeGreaterThanOrEqual(large.revision);
  expect(kv.appliedIndex).toBe(revision);
  const intact = Array.from({ length: LARGE_KEYS }, (_, n) => kv.get(new TextEncoder().encode(largeKey(n)), 0))
    .filter((got) => got.ok && got.kv.value.length === LARGE_VALUE_BYTES).length;
  expect(intact).toBe(LARGE_KEYS);
  return `${killed}; backup Completed in ${tookS.toFixed(1)} s (answered by ${answeredBy ?? "?"}): revision ${revision}, ${verified.fileBytes} bytes, verifies, ` +
    `${kv.keyCount()} keys, all ${LARGE_KEYS} large ones whole`;
}
