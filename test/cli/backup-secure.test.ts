import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CA_CERT_FILE } from "../../src/security/cluster-pki.js";
import { runKvraft } from "../support/cli-run.js";
import { SecureCluster } from "../support/secure-cluster.js";

const RW = "readwrite-token-0123456789abcdef";
const ADMIN = "admin-token-0123456789abcdef0123";
const TOKENS = `${RW},alice,read-write\n${ADMIN},root,admin\n`;

/**
 * `kvraft backup take` as the operator's backup Job runs it: against the members' own
 * admin ports over HTTPS, with the cluster's CA and the admin token from files.
 */
describe("kvraft backup take on a secured cluster", () => {
  let cluster: SecureCluster;
  let scratch: string;
  let flags: string[];
  beforeAll(async () => {
    cluster = await SecureCluster.started(3, { tls: true, tokens: TOKENS, adminPort: true });
    await cluster.waitForLeader();
    scratch = await mkdtemp(join(tmpdir(), "kvraft-backup-tls-"));
    await writeFile(join(scratch, "admin.token"), ADMIN);
    await writeFile(join(scratch, "rw.token"), RW);
    const endpoints = [...cluster.ports.values()].map((p) => `127.0.0.1:${p.admin}`).join(",");
    flags = ["--endpoints", endpoints, "--cacert", join(cluster.pkiDir, CA_CERT_FILE)];
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it("takes a verified backup with the admin token, through any member's admin port", async () => {
    const file = join(scratch, "secure.kvbackup");
    const take = await runKvraft(["backup", "take", "--to", file, ...flags, "--token-file", join(scratch, "admin.token"), "--output", "json"]);
    expect(take.code, take.stderr).toBe(0);
    expect(JSON.parse(take.stdout)).toMatchObject({ clusterId: "secure-test" });
    expect((await runKvraft(["backup", "verify", file])).code).toBe(0);
  }, 60_000);

  it("is refused (exit 4) with a token whose role is not admin, and writes nothing", async () => {
    const file = join(scratch, "refused.kvbackup");
    const take = await runKvraft(["backup", "take", "--to", file, ...flags, "--token-file", join(scratch, "rw.token")]);
    expect(take.code).toBe(4);
    expect(take.stderr).toContain("403");
    expect((await readdir(scratch)).filter((name) => name.startsWith("refused"))).toEqual([]);
  }, 60_000);
});
