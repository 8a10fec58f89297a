/**
 * `kvraft bench wal`: how close the WAL's group commit comes to the disk's own fsync
 * rate. On the same disk, in the same run:
 *
 * 1. a bare loop of write + fdatasync into a preallocated file (4 KiB per write): the
 *    disk's fsync rate;
 * 2. the WAL with 1, 16 and 256 concurrent writers, each persisting one 256-byte entry at
 *    a time: entries/s, MB/s, entries per fsync, time per fsync;
 * 3. the bare loop again, writing as many bytes per fsync as the WAL did with 256
 *    writers, so that the time-per-fsync ratio compares equal work on the disk.
 *
 * Goal with 256 writers: at least 64 entries per fsync, and at most 10% more time per
 * fsync than the bare loop.
 */
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EntryType } from "../raft/types.js";
import { DiskStorage } from "../storage/index.js";

export interface WalBenchOptions {
  /** A directory on the disk to measure; a temporary one under the OS temp dir by default. */
  readonly dir?: string;
  /** Seconds per measurement. */
  readonly seconds?: number;
  /** Print JSON instead of a table. */
  readonly json?: boolean;
}

export interface BareFsyncResult {
  readonly writeBytes: number;
  readonly fsyncsPerSecond: number;
  readonly microsecondsPerFsync: number;
}

export interface WalWritersResult {
  readonly writers: number;
  readonly entries: number;
  readonly fsyncs: number;
  readonly entriesPerSecond: number;
  /** Entry data only (256 bytes per entry). */
  readonly dataMegabytesPerSecond: number;
  /** Everything written to the WAL: framing, hard state, preambles. */
  readonly writtenMegabytesPerSecond: number;
  readonly entriesPerFsync: number;
  readonly microsecondsPerFsync: number;
  /** WAL time per fsync divided by the bare loop's, at the same bytes per fsync (256 writers) or 4 KiB. */
  readonly ratioToBare: number;
}

export interface WalBenchResult {
  readonly dir: string;
  readonly secondsPerRun: number;
  readonly entryBytes: number;
  readonly bare: BareFsyncResult;
  readonly bareMatched: BareFsyncResult;
  readonly runs: readonly WalWritersResult[];
  readonly goals: {
    readonly entriesPerFsyncMin: number;
    readonly entriesPerFsync: number;
    readonly timePerFsyncRatioMax: number;
    readonly timePerFsyncRatio: number;
    readonly met: boolean;
  };
}

const ENTRY_BYTES = 256;
const WRITER_COUNTS = [1, 16, 256] as const;
const BARE_WRITE_BYTES = 4096;
const BARE_FILE_BYTES = 256 * 1024 * 1024;
const ENTRIES_PER_FSYNC_GOAL = 64;
const TIME_PER_FSYNC_RATIO_GOAL = 1.1;
const MEGABYTE = 1024 * 1024;

/** write + fdatasync of `writeBytes` at increasing offsets of a zero-filled file, for `seconds`. */
async function bareFsyncLoop(dir: string, writeBytes: number, seconds: number): Promise<BareFsyncResult> {
  const path = join(dir, `bare-${writeBytes}.dat`);
  const handle = await open(path, "w+");
  try {
    const zeros = Buffer.alloc(MEGABYTE);
    for (let offset = 0; offset < BARE_FILE_BYTES; offset += zeros.length) await handle.write(zeros, 0, zeros.length, offset);
    await handle.sync();
    const payload = Buffer.alloc(writeBytes, 0x5a);
    const deadline = performance.now() + seconds * 1000;
    const start = performance.now();
    let fsyncs = 0;
    let offset = 0;
    while (performance.now() < deadline) {
      if (offset + writeBytes > BARE_FILE_BYTES) offset = 0;
      await handle.write(payload, 0, writeBytes, offset);
      await handle.datasync();
      offset += writeBytes;
      fsyncs++;
    }
    const elapsedSeconds = (performance.now() - start) / 1000;
    return { writeBytes, fsyncsPerSecond: fsyncs / elapsedSeconds, microsecondsPerFsync: (elapsedSeconds * 1e6) / fsyncs };
  } finally {
    await handle.close();
    await rm(path, { force: true });
  }
}

/** `writers` concurrent loops, each persisting one entry at a time until the deadline. */
async function walRun(dir: string, writers: number, seconds: number): Promise<Omit<WalWritersResult, "ratioToBare">> {
  const dataDir = join(dir, `wal-${writers}`);
  await mkdir(dataDir, { recursive: true });
  const store = await DiskStorage.open(dataDir, { memberId: 1, clusterId: "bench" });
  try {
    await store.persist({ hardState: { term: 1, vote: 0, commit: 0, nonVoting: false } });
    const data = Buffer.alloc(ENTRY_BYTES, 0xa5);
    const before = store.status();
    let next = store.lastIndex() + 1;
    let entries = 0;
    let stop = false;
    const writer = async (): Promise<void> => {
      while (!stop) {
        const index = next++;
        await store.persist({ entries: [{ index, term: 1, type: EntryType.Normal, data }] });
        entries++;
      }
    };
    const start = performance.now();
    const timer = setTimeout(() => (stop = true), seconds * 1000);
    await Promise.all(Array.from({ length: writers }, writer));
    clearTimeout(timer);
    const elapsedSeconds = (performance.now() - start) / 1000;
    const after = store.status();
    const fsyncs = after.flushes - before.flushes;
    return {
      writers,
      entries,
      fsyncs,
      entriesPerSecond: entries / elapsedSeconds,
      dataMegabytesPerSecond: (entries * ENTRY_BYTES) / MEGABYTE / elapsedSeconds,
      writtenMegabytesPerSecond: (after.bytesFlushed - before.bytesFlushed) / MEGABYTE / elapsedSeconds,
      entriesPerFsync: entries / fsyncs,
      microsecondsPerFsync: (elapsedSeconds * 1e6) / fsyncs,
    };
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function runWalBench(options: WalBenchOptions = {}): Promise<WalBenchResult> {
  const seconds = options.seconds ?? 3;
  const base = options.dir ?? tmpdir();
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(join(base, "kvraft-bench-wal-"));
  try {
    const bare = await bareFsyncLoop(dir, BARE_WRITE_BYTES, seconds);
    const measured: Omit<WalWritersResult, "ratioToBare">[] = [];
    for (const writers of WRITER_COUNTS) measured.push(await walRun(dir, writers, seconds));
    const busiest = measured[measured.length - 1] as Omit<WalWritersResult, "ratioToBare">;
    const matchedBytes = Math.max(BARE_WRITE_BYTES, Math.round((busiest.writtenMegabytesPerSecond * MEGABYTE) / (1e6 / busiest.microsecondsPerFsync)));
    const bareMatched = await bareFsyncLoop(dir, matchedBytes, seconds);
    const runs = measured.map((run) => ({
      ...run,
      ratioToBare: run.microsecondsPerFsync / (run === busiest ? bareMatched : bare).microsecondsPerFsync,
    }));
    const top = runs[runs.length - 1] as WalWritersResult;
    const result: WalBenchResult = {
      dir: base,
      secondsPerRun: seconds,
      entryBytes: ENTRY_BYTES,
      bare,
      bareMatched,
      runs,
      goals: {
        entriesPerFsyncMin: ENTRIES_PER_FSYNC_GOAL,
        entriesPerFsync: top.entriesPerFsync,
        timePerFsyncRatioMax: TIME_PER_FSYNC_RATIO_GOAL,
        timePerFsyncRatio: top.ratioToBare,
        met: top.entriesPerFsync >= ENTRIES_PER_FSYNC_GOAL && top.ratioToBare <= TIME_PER_FSYNC_RATIO_GOAL,
      },
    };
    process.stdout.write(options.json === true ? `${JSON.stringify(result, null, 2)}\n` : formatTable(result));
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function formatTable(result: WalBenchResult): string {
  const n = (value: number, digits = 0): string => value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const pad = (text: string, width: number): string => text.padStart(width);
  const lines = [
    `kvraft bench wal: ${result.dir}, ${result.secondsPerRun} s per run, ${result.entryBytes}-byte entries`,
    "",
    `bare write+fdatasync, ${n(result.bare.writeBytes)} B/write:   ${pad(n(result.bare.fsyncsPerSecond), 7)} fsyncs/s  ${pad(n(result.bare.microsecondsPerFsync), 6)} us/fsync`,
    `bare write+fdatasync, ${n(result.bareMatched.writeBytes)} B/write:  ${pad(n(result.bareMatched.fsyncsPerSecond), 7)} fsyncs/s  ${pad(n(result.bareMatched.microsecondsPerFsync), 6)} us/fsync  (bytes per fsync of the 256-writer run)`,
    "",
    "writers   entries/s   data MB/s   written MB/s   entries/fsync   us/fsync   vs bare",
  ];
  for (const run of result.runs) {
    lines.push(
      [
        pad(String(run.writers), 7),
        pad(n(run.entriesPerSecond), 11),
        pad(n(run.dataMegabytesPerSecond, 2), 11),
        pad(n(run.writtenMegabytesPerSecond, 2), 14),
        pad(n(run.entriesPerFsync, 1), 15),
        pad(n(run.microsecondsPerFsync), 10),
        pad(`${n(run.ratioToBare, 3)}`, 9),
      ].join(""),
    );
  }
  const goals = result.goals;
  lines.push(
    "",
    `goal at 256 writers: >= ${goals.entriesPerFsyncMin} entries/fsync: ${n(goals.entriesPerFsync, 1)}; ` +
      `<= ${n((goals.timePerFsyncRatioMax - 1) * 100)}% more time per fsync than bare: ${n((goals.timePerFsyncRatio - 1) * 100, 1)}%` +
      ` -> ${goals.met ? "met" : "NOT met"}`,
    "",
  );
  return lines.join("\n");
}
