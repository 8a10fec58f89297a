/**
 * The real-pod scenario of issue 20's quorum loss: two of the example cluster's three
 * members lose their claims and pods for good. The operator raises QuorumLost and changes
 * nothing; the kvraft.io/recover-from-member annotation has it rebuild the cluster from
 * the survivor under a new cluster id, with every write the survivor held, and grow it
 * back to three members. A member of the old history that comes back (its old
 * certificate, the old cluster id) is refused by the survivor and never joins.
 */
import { expect } from "vitest";
import type { DevCluster } from "../../src/devcluster/dev-cluster.js";
import { RECOVER_ANNOTATION } from "../../src/operator/planner/quorum-loss.js";
import type { ClusterStatus } from "../../src/operator/types.js";
import type { ServerStatus } from "../../src/protocol/status.js";
import { waitFor } from "../support/wait.js";
import { KEYS, KnownWriter, type Kubectl } from "./backup-scenarios.js";
import {
  CLUSTER, clientHttp, clusterCredentials, clusterStatus, type ClusterCredentials, HTTP_PORT, httpsGetJson, httpsText, leaderId, NAMESPACE, readAllKeys,
  serverPods, waitRunning,
} from "./scenario-support.js";

const KEY_PREFIX = "quorum/";
/** The pod standing for a member of the old history that comes back. */
const OLD_MEMBER_POD = `${CLUSTER}-old-member`;
const OLD_MEMBER_TLS = `${CLUSTER}-old-member-tls`;
const REFUSALS = /^kvraft_transport_refused_total\{[^}]*\} (\d+)/gm;

async function memberStatus(ip: string, credentials: ClusterCredentials): Promise<ServerStatus> {
  const { status, body } = await httpsGetJson<ServerStatus>(`https://${ip}:${HTTP_PORT}/v1/status`, credentials, 3_000);
  if (status !== 200) throw new Error(`GET /v1/status of ${ip}: ${status}`);
  return body;
}

/** Every connection the member refused so far, whatever the reason. */
async function refusals(ip: string, credentials: ClusterCredentials): Promise<number> {
  const { text } = await httpsText("GET", `https://${ip}:${HTTP_PORT}/metrics`, credentials, 3_000);
  return [...text.matchAll(REFUSALS)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function podIp(dev: DevCluster, ordinal: number): Promise<string> {
  return waitFor(`${CLUSTER}-${ordinal}'s IP`, async () => (await serverPods(dev)).find((p) => p.metadata.name === `${CLUSTER}-${ordinal}`)?.status.podIP, 60_000, 500);
}

interface PodTemplate { metadata?: { labels?: Record<string, string> }; spec: { containers: { name: string; env?: { name: string; value?: string; valueFrom?: unknown }[] }[]; volumes?: { name: string; secret?: { secretName: string } }[] } }

/**
 * A pod of the old history: the StatefulSet's template as it was before the recovery
 * (the old cluster id), the old member certificate of `memberId`, founding the old
 * three-member configuration on an empty volume, so it campaigns and dials the others.
 */
function oldMemberPod(template: PodTemplate, memberId: number): string {
  const env = (e: { name: string; value?: string; valueFrom?: unknown }): { name: string; value?: string; valueFrom?: unknown } =>
    e.name === "POD_NAME" ? { name: e.name, value: `${CLUSTER}-${memberId - 1}` } : e.name === "KVRAFT_INITIAL_CLUSTER_STATE" ? { name: e.name, value: "new" } : e;
  return JSON.stringify({
    apiVersion: "v1", kind: "Pod",
    metadata: { name: OLD_MEMBER_POD, namespace: NAMESPACE, labels: template.metadata?.labels ?? {} },
    spec: {
      ...template.spec,
      containers: template.spec.containers.map((c) => ({ ...c, env: (c.env ?? []).map(env) })),
      volumes: [
        ...(template.spec.volumes ?? []).map((v) => (v.secret?.secretName === `${CLUSTER}-tls-members` ? { name: v.name, secret: { ...v.secret, secretName: OLD_MEMBER_TLS } } : v)),
        { name: "data", emptyDir: {} },
      ],
    },
  });
}

/** Scenario 13: returns the figures to print. */
export async function recoverFromLostQuorum(dev: DevCluster, kubectl: Kubectl, timeoutMs: number): Promise<string> {
  const credentials = await clusterCredentials(dev);
  const endpoint = await clientHttp(dev);
  const writer = new KnownWriter(endpoint, credentials, KEY_PREFIX);
  writer.start();
  try {
    await waitFor("the known data set written twice", () => writer.acks.length >= 2 * KEYS || undefined, 60_000, 100);
  } finally {
    await writer.stop();
  }
  const written = writer.stateAt(Number.MAX_SAFE_INTEGER);

  // The survivor is a follower: the leader is among the members lost.
  const leader = await leaderId(endpoint, credentials);
  const survivor = leader === 3 ? 2 : 3;
  const gone = [1, 2, 3].filter((id) => id !== survivor);
  const survivorIp = await podIp(dev, survivor - 1);
  const leaderCommit = (await memberStatus(await podIp(dev, leader - 1), credentials)).commitIndex;
  // Every acknowledged write reached the survivor before the others are lost, so all must come back.
  await waitFor(`member ${survivor} to hold commit index ${leaderCommit}`, async () => (await memberStatus(survivorIp, credentials)).commitIndex >= leaderCommit || undefined, 30_000, 250);

  const oldClusterId = (await kubectl(["get", "kvr", CLUSTER, "-n", NAMESPACE, "-o", "jsonpath={.metadata.uid}"])).trim();
  const oldTemplate = JSON.parse(await kubectl(["get", "statefulset", CLUSTER, "-n", NAMESPACE, "-o", "jsonpath={.spec.template}"])) as PodTemplate;
  const oldTls = JSON.parse(await kubectl(["get", "secret", `${CLUSTER}-tls-members`, "-n", NAMESPACE, "-o", "json"])) as { data: Record<string, string> };
  const survivorUid = (await serverPods(dev)).find((p) => p.metadata.name === `${CLUSTER}-${survivor - 1}`)?.metadata.uid;

  const lostAt = Date.now();
  for (const id of gone) {
    await kubectl(["delete", "pvc", `data-${CLUSTER}-${id - 1}`, "-n", NAMESPACE, "--wait=false"]);
    await kubectl(["delete", "pod", `${CLUSTER}-${id - 1}`, "-n", NAMESPACE, "--grace-period=0", "--force", "--wait=false"]);
  }
  const lost = await waitFor("QuorumLost raised", async () => {
    const status = await clusterStatus(dev);
    return status.conditions?.find((c) => c.type === "QuorumLost" && c.status === "True" && c.reason === "QuorumLost") !== undefined ? status : undefined;
  }, timeoutMs, 1_000, () => dev.assertHealthy());
  const raisedAfterS = (Date.now() - lostAt) / 1000;
  // Nothing else happens: no recovery, and the survivor's pod is the one it was.
  expect(lost.recovery).toBeUndefined();
  expect((await serverPods(dev)).find((p) => p.metadata.name === `${CLUSTER}-${survivor - 1}`)?.metadata.uid).toBe(survivorUid);
  const message = lost.conditions?.find((c) => c.type === "QuorumLost")?.message ?? "";
  expect(message).toContain(`${RECOVER_ANNOTATION}=${survivor}`);

  const askedAt = Date.now();
  await kubectl(["annotate", "kvr", CLUSTER, "-n", NAMESPACE, `${RECOVER_ANNOTATION}=${String(survivor)}`]);
  const recovered: ClusterStatus = await waitFor("the recovery Completed", async () => {
    const status = await clusterStatus(dev);
    return status.recovery?.phase === "Completed" ? status : undefined;
  }, timeoutMs, 1_000, () => dev.assertHealthy());
  const recoveredAfterS = (Date.now() - askedAt) / 1000;
  await waitRunning(dev, 3, timeoutMs);
  const grownAfterS = (Date.now() - askedAt) / 1000;
  const newClusterId = recovered.recovery?.clusterId ?? "";
  expect(recovered.recovery).toMatchObject({ fromMember: survivor, fromClusterId: oldClusterId });
  expect(newClusterId).not.toBe(oldClusterId);
  expect((await kubectl(["get", "kvr", CLUSTER, "-n", NAMESPACE, "-o", "json"]))).not.toContain(RECOVER_ANNOTATION);
  const after = await readAllKeys(await clientHttp(dev), KEY_PREFIX, credentials);
  expect(new Map([...after].map(([key, { value }]) => [key, value])), "every acknowledged write, as the survivor held it").toEqual(written);

  // A member of the old history comes back: refused by the survivor (restarted by the recovery: a new IP), never a member.
  const recoveredIp = await podIp(dev, survivor - 1);
  const before = await refusals(recoveredIp, credentials);
  const term = (await memberStatus(recoveredIp, credentials)).term;
  await kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: OLD_MEMBER_TLS, namespace: NAMESPACE }, data: oldTls.data }));
  let refused: number;
  try {
    await kubectl(["apply", "-f", "-"], oldMemberPod(oldTemplate, gone[0] as number));
    refused = await waitFor("the survivor to refuse the old member", async () => {
      const now = await refusals(recoveredIp, credentials);
      return now > before ? now - before : undefined;
    }, 120_000, 1_000);
    const view = await memberStatus(recoveredIp, credentials);
    expect(view.clusterId).toBe(newClusterId);
    expect(view.term, "the old member's campaigns never reached the new cluster").toBe(term);
    expect(view.members.map((m) => m.id).sort()).toEqual([1, 2, 3]);
  } finally {
    await kubectl(["delete", "pod", OLD_MEMBER_POD, "-n", NAMESPACE, "--grace-period=0", "--force", "--ignore-not-found"]);
    await kubectl(["delete", "secret", OLD_MEMBER_TLS, "-n", NAMESPACE, "--ignore-not-found"]);
  }
  return `members ${gone.join(",")} lost (leader ${leader} among them); QuorumLost after ${raisedAfterS.toFixed(1)} s, nothing else changed; ` +
    `recovered from member ${survivor} in ${recoveredAfterS.toFixed(1)} s (cluster ${oldClusterId} -> ${newClusterId}), 3/3 voters after ${grownAfterS.toFixed(1)} s; ` +
    `${written.size} keys as acknowledged; the old member refused ${refused} time(s)`;
}
