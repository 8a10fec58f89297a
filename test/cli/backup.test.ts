import { crc32c } from "@node-rs/crc32";
import { spawn } from "node:child_process";
import { createServer, get as httpGet, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { createReadStream } from "node:fs";
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBackup } from "../../src/backup/index.js";
import { KvStateMachine } from "../../src/kv/index.js";
import { parseTakeOutcome } from "../../src/operator/backup-status.js";
import { stateIn } from "../support/backup-state.js";
import { runKvraft } from "../support/cli-run.js";
import { freePorts } from "../support/ports.js";
import { CLI, ProcessCluster } from "../support/process-cluster.js";
import { ThrottledRelay } from "../support/throttled-relay.js";
import { waitFor } from "../support/wait.js";

interface Ack { key: string; value: string; revision: number }
interface TakeJson { file: string; fileBytes: number; clusterId: string; revision: number; raftIndex: number; raftTerm: number; answeredBy: string }

/** Value bytes of the preloaded keys: enough state (about 12 MiB) that a transfer takes a while through a paced relay. */
const BIG_VALUE = "x".repeat(48 * 1024);
const BIG_KEYS = 250;

async function put(base: string, key: string, value: string): Promise<Ack> {
  const response = await fetch(`${base}/v1/kv/${key}`, { method: "PUT", body: value, signal: AbortSignal.timeout(5000) });
  if (response.status !== 200) throw new Error(`PUT ${key}: HTTP ${response.status} ${await response.text()}`);
  return { key, value, revision: ((await response.json()) as { revision: number }).revision };
}

/** `kvraft backup ...` against a real three-member cluster. */
describe("kvraft backup", () => {
  let cluster: ProcessCluster;
  let endpoints: string;
  let scratch: string;
  beforeAll(async () => {
    cluster = await ProcessCluster.create(3);
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    endpoints = [1, 2, 3].map((id) => `127.0.0.1:${cluster.ports.get(id)?.http}`).join(",");
    scratch = await mkdtemp(join(tmpdir(), "kvraft-backup-"));
    for (let i = 0; i < BIG_KEYS; i += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, j) => put(cluster.http(leader), `big${i + j}`, BIG_VALUE)));
    }
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it("takes a backup under writes: it verifies, and holds exactly the writes up to its revision", async () => {
    const leader = await cluster.waitForLeader();
    const acks: Ack[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) acks.push(await put(cluster.http(leader), `w${i}`, `value-${i}`));
    })();
    await waitFor("writes under way", () => (acks.length >= 20 ? true : undefined));
    const file = join(scratch, "under-writes.kvbackup");
    const terminationLog = join(scratch, "termination-log");
    // The leader listed last: take still asks it first.
    const leaderLast = [...[1, 2, 3].filter((id) => id !== leader), leader].map((id) => `127.0.0.1:${cluster.ports.get(id)?.http}`).join(",");
    const take = await runKvraft(["backup", "take", "--to", file, "--endpoints", leaderLast, "--output", "json", "--termination-message-path", terminationLog]);
    const acksBefore = acks.length;
    await waitFor("writes after the backup", () => (acks.length >= acksBefore + 20 ? true : undefined));
    writing = false;
    await writer;
    expect(take.code, take.stderr).toBe(0);
    const taken = JSON.parse(take.stdout) as TakeJson;
    expect(taken).toMatchObject({ file, clusterId: cluster.clusterId, raftIndex: taken.revision });
    expect(taken.raftTerm).toBeGreaterThan(0);
    // Straight from the leader (a follower would relay, buffering the whole answer).
    expect(taken.answeredBy).toBe(`127.0.0.1:${cluster.ports.get(leader)?.http}`);
    // What the operator reads of a backup Job's pod (src/operator/backup-status.ts).
    expect(parseTakeOutcome(await readFile(terminationLog, "utf8"))).toMatchObject({ phase: "Completed", revision: taken.revision, fileBytes: taken.fileBytes, clusterId: cluster.clusterId });
    await rm(terminationLog);

    const verify = await runKvraft(["backup", "verify", file, "--output", "json"]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ verified: true, revision: taken.revision, clusterId: cluster.clusterId, voters: [1, 2, 3], fileBytes: taken.fileBytes });

    // Writes were acknowledged on both sides of the backup, so the revision split them.
    const { kv, revision } = await stateIn(file);
    expect(revision).toBe(taken.revision);
    expect(kv.appliedIndex).toBe(revision);
    expect(acks.some((a) => a.revision <= revision) && acks.some((a) => a.revision > revision)).toBe(true);
    for (const ack of acks) {
      const got = kv.get(new TextEncoder().encode(ack.key), 0);
      if (ack.revision <= revision) expect(got.ok && new TextDecoder().decode(got.kv.value), ack.key).toBe(ack.value);
      else expect(got.ok, ack.key).toBe(false);
    }
    expect(kv.keyCount()).toBe(BIG_KEYS + acks.filter((a) => a.revision <= revision).length);
    expect(await readdir(scratch)).not.toContain("under-writes.kvbackup.partial");

    const describeRun = await runKvraft(["backup", "describe", file]);
    expect(describeRun.stdout).toContain(`revision    ${revision} (raft index ${revision}, term ${taken.raftTerm})`);
    expect(describeRun.stdout).toContain("checksums   not checked");
    const again = await runKvraft(["backup", "take", "--to", file, "--endpoints", endpoints]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("a backup is never overwritten");
  }, 90_000);

  it("a flipped byte fails verify and restore, naming where; list shows only sound headers", async () => {
    const file = join(scratch, "under-writes.kvbackup");
    const bytes = await readFile(file);
    const damaged = join(scratch, "damaged.kvbackup");
    const copy = Buffer.from(bytes);
    copy[Math.floor(copy.length / 2)] ^= 0x10;
    await writeFile(damaged, copy);
    const verify = await runKvraft(["backup", "verify", damaged]);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(/is not a sound KVRaft backup: body at byte \d+: bytes \d+-\d+ fail their checksum/);
    const dataDir = join(scratch, "restored-from-damaged");
    const outcomeFile = join(scratch, "restore-outcome.json");
    const restore = await runKvraft(["backup", "restore", damaged, "--data-dir", dataDir, "--termination-message-path", outcomeFile]);
    expect(restore.code).toBe(1);
    expect(await readdir(dataDir).catch(() => [])).toEqual([]);
    // What the operator's restore Job leaves for it to read (a KVRaftCluster bootstrapped from this file is refused).
    const outcome = JSON.parse(await readFile(outcomeFile, "utf8")) as { phase: string; message: string };
    expect(outcome.phase).toBe("Failed");
    expect(outcome.message).toMatch(/is not a sound KVRaft backup: body at byte \d+: bytes \d+-\d+ fail their checksum/);
    await rm(outcomeFile);

    await writeFile(join(scratch, "notes.txt"), "not a backup");
    const list = await runKvraft(["backup", "list", scratch, "--output", "json"]);
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as { backups: { file: string }[]; skipped: string[] };
    // The damaged copy's header is sound (list does not read bodies); verify is what proves a file.
    expect(listed.backups.map((b) => b.file).sort()).toEqual(["damaged.kvbackup", "under-writes.kvbackup"]);
    expect(listed.skipped).toEqual(["notes.txt"]);
    await rm(damaged);
    await rm(join(scratch, "notes.txt"));
  });

  it("restore founds a new one-member cluster that serves the backup's state", async () => {
    const file = join(scratch, "under-writes.kvbackup");
    const copy = join(scratch, "copied.kvbackup");
    await copyFile(file, copy);
    const dataDir = join(scratch, "restored");
    // The operator's restore Job names the new cluster (the KVRaftCluster's uid) and reads the outcome back.
    const clusterId = "0b7f3c2e-2222-4a7c-9d1e-5f6a7b8c9d0e";
    const outcomeFile = join(scratch, "restored-outcome.json");
    const restore = await runKvraft(["backup", "restore", copy, "--data-dir", dataDir, "--cluster-id", clusterId, "--termination-message-path", outcomeFile, "--output", "json"]);
    expect(restore.code, restore.stderr).toBe(0);
    const source = (await readBackup(createReadStream(copy), crc32c)).meta;
    expect(JSON.parse(await readFile(outcomeFile, "utf8"))).toMatchObject({ phase: "Completed", revision: source.revision, clusterId: source.clusterId });
    expect(JSON.parse(restore.stdout)).toMatchObject({ clusterId, revision: source.revision });
    await rm(outcomeFile);
    const [peer, http] = await freePorts(2);
    const server = spawn(process.execPath, [CLI, "server", "--id", "1", "--data-dir", dataDir, "--cluster-id", clusterId, "--peers", `1=127.0.0.1:${peer}`,
      "--listen-host", "127.0.0.1", "--http-port", String(http), "--memcached-port", "0", "--client-port", "0", "--election-ms", "300", "--heartbeat-ms", "50"], { stdio: "ignore" });
    try {
      const value = await waitFor("the restored cluster to serve", async () => {
        const response = await fetch(`http://127.0.0.1:${http}/v1/kv/w0`).catch(() => undefined);
        return response?.status === 200 ? response.text() : undefined;
      }, 30_000);
      expect(value).toBe("value-0");
    } finally {
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGKILL");
      await exited;
      await rm(copy);
    }
  }, 60_000);

  it("the leader streams the snapshot chunked, its CRC32C in a trailer", async () => {
    const leader = await cluster.waitForLeader();
    const { headers, trailers, body } = await new Promise<{ headers: IncomingHttpHeaders; trailers: NodeJS.Dict<string>; body: Buffer }>((resolve, reject) => {
      httpGet(`${cluster.http(leader)}/v1/admin/snapshot`, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (chunk: Buffer) => parts.push(chunk));
        res.on("end", () => resolve({ headers: res.headers, trailers: res.trailers, body: Buffer.concat(parts) }));
        res.on("error", reject);
      }).on("error", reject);
    });
    expect(headers["transfer-encoding"]).toBe("chunked");
    expect(body.length).toBeGreaterThan(BIG_KEYS * BIG_VALUE.length);
    expect(Number(trailers["x-kvraft-snapshot-crc32c"])).toBe(crc32c(body));
    expect(KvStateMachine.restore(body).appliedIndex).toBe(Number(headers["x-kvraft-revision"]));
  });

  it("refuses a transfer whose bytes do not match the CRC32C the member sent, and writes no FILE", async () => {
    const body = new KvStateMachine().snapshot();
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "x-kvraft-revision": "0", "x-kvraft-cluster-id": "c", trailer: "X-Kvraft-Snapshot-Crc32c" });
      res.write(body);
      res.addTrailers({ "X-Kvraft-Snapshot-Crc32c": String((crc32c(body) + 1) >>> 0) });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const file = join(scratch, "bad-crc.kvbackup");
    try {
      const take = await runKvraft(["backup", "take", "--to", file, "--endpoints", `127.0.0.1:${(server.address() as AddressInfo).port}`, "--wait", "1000"]);
      expect(take.code).toBe(3);
      expect(take.stderr).toMatch(/the snapshot arrived with CRC32C 0x[0-9a-f]{8}, the member sent 0x[0-9a-f]{8}/);
      expect((await readdir(scratch)).filter((name) => name.startsWith("bad-crc"))).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("when the leader dies mid-transfer, take finishes on the new leader or fails, and never leaves FILE partial", async () => {
    const leader = await cluster.waitForLeader();
    const relay = await ThrottledRelay.start(cluster.ports.get(leader)?.http as number, 10);
    const others = [1, 2, 3].filter((id) => id !== leader).map((id) => `127.0.0.1:${cluster.ports.get(id)?.http}`);
    const file = join(scratch, "leader-killed.kvbackup");
    try {
      const taking = runKvraft(["backup", "take", "--to", file, "--endpoints", [`127.0.0.1:${relay.port}`, ...others].join(","), "--wait", "30000", "--idle-timeout", "5000", "--output", "json"]);
      await waitFor("a transfer under way through the relay", () => (relay.bytesRelayed > 1024 * 1024 ? true : undefined), 20_000);
      await cluster.kill(leader);
      const take = await taking;
      // The kill landed mid-transfer: take saw it break.
      expect(take.stderr).toContain("the transfer broke");
      if (take.code === 0) {
        const taken = JSON.parse(take.stdout) as TakeJson;
        expect(others).toContain(taken.answeredBy);
        expect((await runKvraft(["backup", "verify", file])).code).toBe(0);
      } else {
        expect(await readdir(scratch)).not.toContain("leader-killed.kvbackup");
      }
      expect(await readdir(scratch)).not.toContain("leader-killed.kvbackup.partial");
    } finally {
      await relay.stop();
    }
  }, 90_000);
});
