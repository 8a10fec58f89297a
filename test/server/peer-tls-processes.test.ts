/**
 * Three real `kvraft server` processes whose peer ports are mutual TLS (--peer-cert-file,
 * certificates from writeClusterPki): they elect a leader, commit, and after the leader
 * is killed elect another over newly dialled TLS connections. None warns that its peer
 * port is unauthenticated.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeClusterPki } from "../../src/security/cluster-pki.js";
import { ProcessCluster } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";

const CLUSTER_ID = "peer-tls-processes";

describe("a cluster with peer TLS, as processes", () => {
  let cluster: ProcessCluster | undefined;
  let pkiDir: string | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    if (pkiDir !== undefined) await rm(pkiDir, { recursive: true, force: true });
  });

  const put = async (c: ProcessCluster, id: number, key: string, value: string): Promise<number> =>
    (await fetch(`${c.http(id)}/v1/kv/${key}`, { method: "PUT", body: value, signal: AbortSignal.timeout(10_000) })).status;

  it("elects, commits, and elects again after the leader dies", async () => {
    pkiDir = await mkdtemp(join(tmpdir(), "kvraft-peer-tls-proc-"));
    await writeClusterPki(pkiDir, { clusterId: CLUSTER_ID, memberIds: [1, 2, 3], validDays: 1 });
    const c = await ProcessCluster.create(3);
    cluster = c;
    c.clusterId = CLUSTER_ID;
    c.peerPkiDir = pkiDir;
    c.startAll();
    const leader = await c.waitForLeader();
    expect(await put(c, leader, "k", "v1")).toBe(200);
    await waitFor("every member applies the write", async () => {
      const statuses = await Promise.all([1, 2, 3].map((id) => c.status(id)));
      return statuses.every((s) => s.appliedIndex >= (statuses.find((x) => x.memberId === leader)?.commitIndex ?? Infinity)) ? true : undefined;
    }, 10_000);
    await c.kill(leader);
    const next = await c.waitForLeader();
    expect(next).not.toBe(leader);
    expect(await put(c, next, "k", "v2")).toBe(200);
    expect(c.describe()).not.toContain("the peer port is not authenticated");
  }, 60_000);
});
