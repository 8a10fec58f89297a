import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { toolBinary } from "../../tools/go-tools.mjs";
import { BenchProcesses } from "./bench-processes.js";

/** core and wal at --seconds 0.1 take about 2 s on two idle cores; this allows a busy machine. */
const CORE_WAL_TIMEOUT_MS = 60_000;
/** Two 3-member clusters start, put-1 runs 0.2 s on each, both stop: about 17 s on two busy cores. */
const CLUSTER_TIMEOUT_MS = 120_000;

/**
 * Keeps the benchmarks alive: every kind `npm run bench` runs, run for a fraction of a
 * second through the real binary, printing its human-readable figures and exiting 0. The
 * figures are not judged (a loaded machine makes them meaningless); a change that breaks
 * a benchmark fails here instead of in the next person's `npm run bench`.
 * test/bench/cluster.test.ts checks the cluster bench's JSON in more detail.
 */
describe("kvraft bench: every kind runs", () => {
  const benches = new BenchProcesses();
  let dir = "";

  beforeAll(async () => {
    // Builds etcd once (minutes when cold, then cached), so that the cluster run itself is short.
    await toolBinary("etcd", "etcd");
  }, 600_000);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "kvraft-bench-kinds-test-"));
  });

  afterEach(async () => {
    benches.stopAll();
    await rm(dir, { recursive: true, force: true });
  });

  it("core and wal print their tables and exit 0", async () => {
    const run = await benches.run(["core", "wal", "--seconds", "0.1", "--dir", dir]);
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/^core: a 3-node cluster/m);
    for (const batch of [1, 16, 256]) expect(out, `core batch ${batch}`).toMatch(new RegExp(`^\\s+${batch}\\s+\\d+\\s+[\\d.]+$`, "m"));
    expect(out).toMatch(/^kvraft bench wal: .*, 0\.1 s of WAL writing per row/m);
    expect(out).toMatch(/^bare write\+fdatasync of 4,096 B: [\d,]+ fsyncs\/s, [\d,]+ us\/fsync$/m);
    // writers, entries/s, data MB/s, written MB/s, entries/fsync, us/fsync, io us, bare us, ratio, io ratio
    for (const writers of [1, 16, 256]) expect(out, `wal with ${writers} writers`).toMatch(new RegExp(`^\\s+${writers}(\\s+[\\d,.]+){9}$`, "m"));
    expect(out).toMatch(/^goal at 256 writers: .* -> (met|NOT met)$/m);
  }, CORE_WAL_TIMEOUT_MS);

  it("cluster prints the floors, both systems' figures and the goals, stops both clusters and exits 0", async () => {
    // put-1, so that the bare relay runs too; the extras (leader kills, restarts) take
    // most of a minute even this small and stay out of the suite.
    const run = await benches.run(["cluster", "--workloads", "put-1", "--rounds", "1", "--seconds", "0.2", "--warmup-seconds", "0", "--no-extras", "--dir", dir]);
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/^kvraft bench cluster: KVRaft .* vs etcd 3\.6\./m);
    expect(out).toMatch(/^disk: [\d,]+ bare fsyncs\/s .*; loopback round trip [\d.]+ ms$/m);
    expect(out).toMatch(/^bare relay .*: p50 [\d.]+ ms$/m);
    expect(out).toMatch(/^put-1\s+kvraft\s+[\d,]+\s+[\d.]+\s+[\d.]+/m);
    expect(out).toMatch(/^\s+etcd\s+[\d,]+\s+[\d.]+\s+[\d.]+/m);
    expect(out).toMatch(/^goals:\n\s+(met|NOT met)\s+put-1 p50/m);
    expect(benches.leftRunning(), "a member or etcd outlived the bench").toBe(false);
  }, CLUSTER_TIMEOUT_MS);

  it("cluster --tls runs both systems with TLS from one CA, prints its figures and the TLS goals, and exits 0", async () => {
    // put-64: the workload with issue 15's TLS floor. Only that the run works is checked, never its figures.
    const run = await benches.run(["cluster", "--tls", "--workloads", "put-64", "--rounds", "1", "--seconds", "0.2", "--warmup-seconds", "0", "--no-extras", "--dir", dir]);
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/^kvraft bench cluster \(TLS\): KVRaft .* vs etcd 3\.6\./m);
    expect(out).toMatch(/^TLS on both, one CA: /m);
    expect(out).toMatch(/^put-64\s+kvraft\s+[\d,]+\s+[\d.]+\s+[\d.]+.*\s[\d.]+x$/m);
    expect(out).toMatch(/^\s+etcd\s+[\d,]+\s+[\d.]+\s+[\d.]+/m);
    expect(out).toMatch(/^\s+(met|NOT met)\s+put-64 throughput >= 3x etcd, both with TLS: [\d.]+x$/m);
    expect(benches.leftRunning(), "a member or etcd outlived the bench").toBe(false);
  }, CLUSTER_TIMEOUT_MS);

  it("refuses --seconds outside its bounds before running anything", async () => {
    const run = await benches.run(["core", "--seconds", "0.01"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--seconds must be a number of seconds from 0.05 to 600, got 0.01");
    expect(run.stdout).toBe("");
  });
});
