/**
 * Crash consistency with real processes: a child appends batches (reporting each one
 * once durable) and takes snapshots; the parent SIGKILLs it at a seeded moment. A SIGKILL
 * loses nothing the kernel accepted, so the parent then also tears the unacknowledged
 * tail at a seeded byte (cut short or zero-filled, as a power loss could leave it),
 * reopens the data dir, and checks that every acknowledged batch is there, in order, and
 * that nothing was invented after the torn tail. Many rounds on the same data dir.
 *
 * The child runs the build (dist/): `npm test` builds first; run `npx tsc -p
 * tsconfig.build.json` before running this file alone.
 */
import { describe, expect, it } from "vitest";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DiskStorage } from "../../src/storage/index.js";
import { RecordType } from "../../src/storage/record-format.js";
import { decodeEntry } from "../../src/storage/record-payloads.js";
import { endOfNonZero, scanSegment } from "../../src/storage/segment-scan.js";
import { collect, seededRandom, withTempDir } from "./helpers.js";

const SEED = Number(process.env.KVRAFT_TEST_SEED ?? 7_340_033);
const ROUNDS = Number(process.env.KVRAFT_CRASH_ROUNDS ?? 32);
const FIXTURE = fileURLToPath(new URL("./fixtures/crash-writer.mjs", import.meta.url));
const BUILD = fileURLToPath(new URL("../../dist/storage/index.js", import.meta.url));

// Must match fixtures/crash-writer.mjs.
const OPTIONS = {
  memberId: 1,
  clusterId: "crash-test",
  segmentBytesMax: 64 * 1024,
  memoryLogBytesMax: 16 * 1024,
  snapshotBlockBytes: 1024,
  snapshotsRetained: 2,
  logEntriesRetainedAfterSnapshot: 200,
};
function entryData(index: number, term: number): Buffer {
  const bytes = (index * 7919) % 400;
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (index * 31 + term * 17 + i) & 0xff;
  return data;
}
function snapshotData(index: number): Buffer {
  const data = Buffer.alloc(3000);
  for (let i = 0; i < data.length; i++) data[i] = (index * 7 + i) & 0xff;
  return data;
}

interface Tear {
  readonly file: string;
  readonly offset: number;
  /** The cut fell inside a record, so recovery must report a torn tail. */
  readonly insideRecord: boolean;
}

/**
 * Cuts the last segment holding data at a random byte after the last acknowledged batch
 * (its entries and the hard state record written with them), leaving the acknowledged
 * part untouched. Returns undefined when nothing unacknowledged was written.
 */
async function tearUnacknowledgedTail(dir: string, ackedLastIndex: number, random: () => number): Promise<Tear | undefined> {
  const names = (await readdir(dir)).filter((name) => name.endsWith(".seg")).sort().reverse();
  for (const name of names) {
    const file = join(dir, name);
    const bytes = await readFile(file);
    const dataEnd = endOfNonZero(bytes, 0);
    if (dataEnd === 0) continue;
    const records = scanSegment(bytes).records;
    const ackedAt = records.findIndex((r) => r.type === RecordType.Entry && decodeEntry(r.payload).index === ackedLastIndex);
    let from = 0;
    if (ackedAt >= 0) {
      const next = records[ackedAt + 1];
      from = next?.type === RecordType.HardState ? next.recordEnd : (records[ackedAt]?.recordEnd ?? 0);
    } else if (records.some((r) => r.type === RecordType.Entry && decodeEntry(r.payload).index < ackedLastIndex)) {
      return undefined; // the acknowledged batch is not in this segment's valid records: leave it be
    }
    if (from >= dataEnd) return undefined;
    const offset = from + Math.floor(random() * (dataEnd - from));
    const insideRecord = !records.some((r) => r.offset === offset) && offset < (records[records.length - 1]?.recordEnd ?? 0);
    const damaged = random() < 0.5 ? bytes.subarray(0, offset) : Buffer.from(bytes).fill(0, offset, dataEnd);
    await writeFile(file, damaged);
    return { file, offset, insideRecord };
  }
  return undefined;
}

interface ChildMessage {
  readonly type: "ready" | "ack" | "snapshot";
  readonly lastIndex?: number;
}

/** Runs the writer until it has acknowledged `killAfterAcks` batches, then SIGKILLs it. */
async function runAndKill(dir: string, seed: number, term: number, killAfterAcks: number): Promise<number> {
  const child: ChildProcess = spawn(process.execPath, [FIXTURE, dir, String(seed), String(term)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let acks = 0;
  let ackedLastIndex = 0;
  let killed = false;
  child.on("message", (message: ChildMessage) => {
    if (message.type !== "ack") return;
    acks++;
    ackedLastIndex = Math.max(ackedLastIndex, message.lastIndex ?? 0);
    if (acks === killAfterAcks && !killed) {
      killed = true;
      child.kill("SIGKILL");
    }
  });
  const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
  if (signal !== "SIGKILL") throw new Error(`the writer exited on its own (code ${code}) after ${acks} acks`);
  return ackedLastIndex;
}

async function checkDataDir(dir: string, ackedLastIndex: number, tear: Tear | undefined, where: string): Promise<void> {
  const store = await DiskStorage.open(dir, OPTIONS);
  try {
    const types = store.recovery.events.map((e) => e.type);
    expect(types, where).toContain("stale-lock-replaced");
    if (tear?.insideRecord === true) expect(types, `${where}: torn at ${tear.file}:${tear.offset}`).toContain("torn-tail-truncated");
    expect(types, `${where}: a SIGKILL never damages complete records`).not.toContain("corrupt-tail-truncated");
    expect(store.hardState().nonVoting, where).toBe(false);
    expect(store.lastIndex(), `${where}: every acknowledged batch is there`).toBeGreaterThanOrEqual(ackedLastIndex);
    expect(store.hardState().commit, where).toBeLessThanOrEqual(store.lastIndex());
    let previousTerm = store.snapshotMeta().term;
    const entries = store.lastIndex() >= store.firstIndex() ? store.entries(store.firstIndex(), store.lastIndex() + 1, Number.MAX_SAFE_INTEGER) : [];
    expect(entries.length, where).toBe(store.lastIndex() - store.firstIndex() + 1);
    entries.forEach((entry, i) => {
      expect(entry.index, where).toBe(store.firstIndex() + i);
      expect(entry.term, where).toBeGreaterThanOrEqual(previousTerm);
      expect(Buffer.from(entry.data).equals(entryData(entry.index, entry.term)), `${where}: entry ${entry.index} intact`).toBe(true);
      previousTerm = entry.term;
    });
    const snapshot = store.snapshotMeta();
    if (snapshot.index > 0) {
      expect(await collect(store.readSnapshotData(snapshot)), where).toEqual(snapshotData(snapshot.index));
    }
  } finally {
    await store.close();
  }
}

describe("crash consistency with real processes", () => {
  it(`every acknowledged batch survives SIGKILL, ${ROUNDS} rounds (seed ${SEED})`, { timeout: 300_000 }, async () => {
    expect(existsSync(BUILD), `the child runs ${BUILD}: build first (npx tsc -p tsconfig.build.json)`).toBe(true);
    await withTempDir(async (dir) => {
      const random = seededRandom(SEED);
      let ackedLastIndex = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const where = `seed ${SEED} round ${round} (rerun with KVRAFT_TEST_SEED=${SEED})`;
        const killAfterAcks = 1 + Math.floor(random() * 40);
        const acked = await runAndKill(dir, SEED + round, round + 1, killAfterAcks);
        ackedLastIndex = Math.max(ackedLastIndex, acked);
        const tear = await tearUnacknowledgedTail(dir, ackedLastIndex, random);
        await checkDataDir(dir, ackedLastIndex, tear, where);
      }
    });
  });
});
