import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HttpAdminApi } from "../../src/operator/controller/admin-http.js";
import { readClusterTls } from "../../src/operator/controller/cluster-tls.js";
import type { TlsPems } from "../../src/operator/desired/index.js";
import type { MembershipView } from "../../src/operator/types.js";
import { ProcessCluster } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";
import { EmptyRest, makeCluster } from "./fixtures.js";

// Real `kvraft server` processes serving TLS on every port with the certificates the
// operator's step makes (as the pods find them in the members Secret), and the
// operator's admin client reaching them over HTTPS with the cluster's CA.

const MEMBERS = [1, 2, 3] as const;

/** The members Secret as a pod mounts it: ca.crt and POD.crt / POD.key. */
async function writeMembersSecret(dir: string, pems: TlsPems): Promise<void> {
  await writeFile(join(dir, "ca.crt"), pems.caBundlePem);
  for (const [pod, pair] of Object.entries(pems.members)) {
    await writeFile(join(dir, `${pod}.crt`), pair.certPem);
    await writeFile(join(dir, `${pod}.key`), pair.keyPem, { mode: 0o600 });
  }
}

function tlsFlags(dir: string, pod: string): string[] {
  const cert = join(dir, `${pod}.crt`);
  const key = join(dir, `${pod}.key`);
  const ca = join(dir, "ca.crt");
  return ["--cert-file", cert, "--key-file", key, "--trusted-ca-file", ca, "--peer-cert-file", cert, "--peer-key-file", key, "--peer-trusted-ca-file", ca];
}

describe("the operator's admin client over HTTPS against real servers with the operator's certificates", () => {
  let cluster: ProcessCluster | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("reads the membership and moves leadership over HTTPS, and refuses the members as another cluster's", async () => {
    const uid = randomUUID();
    const resource = makeCluster();
    const { pems } = await readClusterTls({ ...resource, metadata: { ...resource.metadata, uid } }, new EmptyRest(), { memberCount: MEMBERS.length });
    dir = await mkdtemp(join(tmpdir(), "kvraft-operator-tls-"));
    await writeMembersSecret(dir, pems);

    const started = await ProcessCluster.create(MEMBERS.length);
    cluster = started;
    started.clusterId = uid;
    const founders = MEMBERS.map((id) => `${id}=127.0.0.1:${started.ports.get(id)?.peer}`).join(",");
    for (const id of MEMBERS) started.start(id, ["--peers", founders, ...tlsFlags(dir, `kv-${id - 1}`)]);
    const baseUrls = MEMBERS.map((id) => `https://127.0.0.1:${started.ports.get(id)?.http}`);
    const admin = (clusterId: string): HttpAdminApi => new HttpAdminApi({ baseUrls, token: undefined, clusterId, deadlineMs: 3_000, caPem: pems.caBundlePem });

    const led = (): Promise<MembershipView> => waitFor("a leader every member follows, seen over HTTPS", async () => {
      try {
        const view = await admin(uid).members();
        return view.leaderId !== 0 && view.members.every((m) => m.healthy) ? view : undefined;
      } catch {
        return undefined;
      }
    }, 30_000, 200).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${started.describe()}`);
    });
    const view = await led();
    expect(view.members.map((m) => `${m.id}:${m.role}`)).toEqual(["1:voter", "2:voter", "3:voter"]);

    const to = MEMBERS.find((id) => id !== view.leaderId) as number;
    await waitFor(`member ${to} to lead`, async () => {
      try {
        await admin(uid).transferLeadership(to);
        return (await admin(uid).members()).leaderId === to || undefined;
      } catch {
        return undefined;
      }
    }, 20_000, 200);

    // The same servers, as the operator of another cluster would see them: refused at
    // the handshake, before any admin call (or token) is sent.
    await expect(admin(randomUUID()).members()).rejects.toThrow(/not of .*: the address reaches another cluster/);
  }, 90_000);
});
