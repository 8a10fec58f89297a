/**
 * `kvraft bench wal`: how close the WAL's group commit comes to the disk's own fsync
 * rate, on the same disk in the same run.
 *
 * 1. A bare loop of write + fdatasync (4 KiB per write, into a zero-filled file): the
 *    disk's fsync rate.
 * 2. The WAL with 1, 16 and 256 concurrent writers, each persisting one 256-byte entry
 *    at a time: entries/s, MB/s, entries per fsync, time per fsync. Each WAL run is cut
 *    into slices interleaved with slices of a bare loop that replays the WAL's durable
 *    writes (their sizes recorded in a warm-up, each replayed with the same primitive,
 *    `WritableFile.writeDurably`: one O_DSYNC write): shared and virtual disks drift by
 *    2-3x within seconds, and only measurements taken side by side, of the same work,
 *    compare.
 *
 * Time per fsync is reported twice: end to end (elapsed / fsyncs: what writers see,
 * including the CPU time of checking, encoding and resolving every entry where it does
 * not overlap the IO) and the IO alone (the time inside the WAL's durable writes).
 *
 * Goal with 256 writers: at least 64 entries per fsync, at most 10% more time per fsync
 * than the bare loop.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EntryType } from "../raft/types.js";
import { DiskStorage, type FileIo, nodeFileIo, type WritableFile } from "../storage/index.js";

export interface WalBenchOptions {
  /** A directory on the disk to measure; a temporary one under the OS temp dir by default. */
  readonly dir?: string;
  /** Seconds of WAL writing per writer count (as many again go to the bare loop beside it). */
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
  /** Entry data only. */
  readonly dataMegabytesPerSecond: number;
  /** Everything written to the WAL: record framing, preambles. */
  readonly writtenMegabytesPerSecond: number;
  readonly entriesPerFsync: number;
  /** Elapsed time / fsyncs. */
  readonly microsecondsPerFsync: number;
  /** Time inside the WAL's durable writes / fsyncs. */
  readonly ioMicrosecondsPerFsync: number;
  /** The bare loop beside it, replaying the WAL's durable writes (writeBytes is their mean size). */
  readonly bare: BareFsyncResult;
  readonly ratioToBare: number;
  readonly ioRatioToBare: number;
}

export interface WalBenchResult {
  readonly dir: string;
  readonly secondsPerRun: number;
  readonly entryBytes: number;
  readonly bare: BareFsyncResult;
  readonly runs: readonly WalWritersResult[];
  readonly goals: {
    readonly entriesPerFsyncMin: number;
    readonly entriesPerFsync: number;
    readonly timePerFsyncRatioMax: number;
    readonly timePerFsyncRatio: number;
    readonly ioTimePerFsyncRatio: number;
    readonly met: boolean;
  };
}

const ENTRY_BYTES = 256;
const WRITER_COUNTS = [1, 16, 256] as const;
const BARE_WRITE_BYTES = 4096;
const BARE_FILE_BYTES = 64 * 1024 * 1024;
const SLICES_PER_RUN = 10;
/** Recording the WAL's writes; shortened to --seconds when that is shorter (a smoke run). */
const WARMUP_SECONDS = 0.3;
const ENTRIES_PER_FSYNC_GOAL = 64;
const TIME_PER_FSYNC_RATIO_GOAL = 1.1;
const MEGABYTE = 1024 * 1024;

interface Totals {
  fsyncs: number;
  bytes: number;
  seconds: number;
}

/**
 * How the bare loop makes each write durable: "write+fdatasync" is the disk's classic
 * fsync rate; "durable-write" is what the WAL does per flush (`writeDurably`: one
 * O_DSYNC write where the platform has it), so that the WAL is compared with the same
 * primitive, not with a slower one it no longer uses.
 */
type BareSync = "write+fdatasync" | "durable-write";

/** A zero-filled file for bare durable-write loops, written round-robin. */
class BareFile {
  private offset = 0;
  private constructor(private readonly file: WritableFile) {}

  static async create(path: string): Promise<BareFile> {
    const file = await nodeFileIo.open(path, "create");
    try {
      const zeros = Buffer.alloc(MEGABYTE);
      for (let offset = 0; offset < BARE_FILE_BYTES; offset += zeros.length) await file.write(zeros, offset);
      await file.datasync();
    } catch (error) {
      await file.close().catch(() => undefined);
      throw error;
    }
    return new BareFile(file);
  }

  /** Durable writes for `seconds`, their sizes taken in turn from `writeSizes`. */
  async loop(writeSizes: readonly number[], sync: BareSync, seconds: number, totals: Totals): Promise<void> {
    // An empty list would make Math.max -Infinity and the allocation below throw a RangeError
    // that names neither the benchmark nor the cause: callers say why it is empty.
    if (writeSizes.length === 0) throw new Error("kvraft bench wal: the bare loop was given no write sizes to replay");
    const payload = Buffer.alloc(Math.max(...writeSizes), 0x5a);
    const start = performance.now();
    const deadline = start + seconds * 1000;
    let turn = 0;
    while (performance.now() < deadline) {
      const writeBytes = writeSizes[turn++ % writeSizes.length] as number;
      if (this.offset + writeBytes > BARE_FILE_BYTES) this.offset = 0;
      const bytes = payload.subarray(0, writeBytes);
      if (sync === "durable-write") {
        await this.file.writeDurably(bytes, this.offset);
      } else {
        await this.file.write(bytes, this.offset);
        await this.file.datasync();
      }
      this.offset += writeBytes;
      totals.fsyncs++;
      totals.bytes += writeBytes;
    }
    totals.seconds += (performance.now() - start) / 1000;
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

function bareResult(totals: Totals): BareFsyncResult {
  return { writeBytes: Math.round(totals.bytes / totals.fsyncs), fsyncsPerSecond: totals.fsyncs / totals.seconds, microsecondsPerFsync: (totals.seconds * 1e6) / totals.fsyncs };
}

/** Concurrent writers, each persisting one entry at a time, for one slice of time. */
class WalWriters {
  private next: number;
  entries = 0;
  seconds = 0;
  private readonly data = Buffer.alloc(ENTRY_BYTES, 0xa5);

  constructor(
    readonly store: DiskStorage,
    private readonly writers: number,
  ) {
    this.next = store.lastIndex() + 1;
  }

  async slice(seconds: number): Promise<void> {
    let stop = false;
    const writer = async (): Promise<void> => {
      while (!stop) {
        const index = this.next++;
        await this.store.persist({ entries: [{ index, term: 1, type: EntryType.Normal, data: this.data }] });
        this.entries++;
      }
    };
    const start = performance.now();
    const timer = setTimeout(() => (stop = true), seconds * 1000);
    await Promise.all(Array.from({ length: this.writers }, writer));
    clearTimeout(timer);
    this.seconds += (performance.now() - start) / 1000;
  }
}

/**
 * The WAL's file IO with the sizes of its durable segment writes recorded while
 * `recording` is on: the bare loop beside the run replays them, so both sides put the
 * same bytes behind each fsync. Only `writeDurably` counts: it is how the WAL makes each
 * group commit durable, while its plain writes zero-fill a new segment ahead of use and
 * are made durable once, off the commit path.
 */
class DurableWriteRecorder {
  recording = false;
  readonly segmentWriteSizes: number[] = [];
  readonly io: FileIo = {
    ...nodeFileIo,
    open: async (path, mode) => {
      const file = await nodeFileIo.open(path, mode);
      return {
        path,
        write: (bytes, position) => file.write(bytes, position),
        writeDurably: (bytes, position) => {
          if (this.recording && path.endsWith(".seg")) this.segmentWriteSizes.push(bytes.byteLength);
          return file.writeDurably(bytes, position);
        },
        datasync: () => file.datasync(),
        truncate: (bytes) => file.truncate(bytes),
        close: () => file.close(),
      };
    },
  };
}

async function measureWriters(dir: string, writers: number, seconds: number, bareFile: BareFile): Promise<WalWritersResult> {
  const dataDir = join(dir, `wal-${writers}`);
  const recorder = new DurableWriteRecorder();
  const store = await DiskStorage.open(dataDir, { memberId: 1, clusterId: "bench", io: recorder.io });
  try {
    await store.persist({ hardState: { term: 1, vote: 0, commit: 0, nonVoting: false } });
    const warmupSeconds = Math.min(WARMUP_SECONDS, seconds);
    recorder.recording = true;
    await new WalWriters(store, writers).slice(warmupSeconds);
    recorder.recording = false;
    const writeSizes = recorder.segmentWriteSizes;
    if (writeSizes.length === 0) {
      throw new Error(
        `kvraft bench wal: the WAL made no durable writes to its segments in a ${warmupSeconds} s warm-up with ${writers} writers, ` +
          "so there is nothing for the bare loop to replay. The benchmark records FileIo.writeDurably calls on *.seg files: " +
          "if the WAL now makes its writes durable another way, record them there (src/bench/wal.ts, DurableWriteRecorder)",
      );
    }
    const wal = new WalWriters(store, writers);
    const bare: Totals = { fsyncs: 0, bytes: 0, seconds: 0 };
    const before = store.status();
    for (let slice = 0; slice < SLICES_PER_RUN; slice++) {
      // Alternate which goes first, so that a drifting disk favours neither.
      if (slice % 2 === 0) await bareFile.loop(writeSizes, "durable-write", seconds / SLICES_PER_RUN, bare);
      await wal.slice(seconds / SLICES_PER_RUN);
      if (slice % 2 === 1) await bareFile.loop(writeSizes, "durable-write", seconds / SLICES_PER_RUN, bare);
    }
    const after = store.status();
    const fsyncs = after.flushes - before.flushes;
    const matched = bareResult(bare);
    const microsecondsPerFsync = (wal.seconds * 1e6) / fsyncs;
    const ioMicrosecondsPerFsync = (after.flushMicroseconds - before.flushMicroseconds) / fsyncs;
    return {
      writers,
      entries: wal.entries,
      fsyncs,
      entriesPerSecond: wal.entries / wal.seconds,
      dataMegabytesPerSecond: (wal.entries * ENTRY_BYTES) / MEGABYTE / wal.seconds,
      writtenMegabytesPerSecond: (after.bytesFlushed - before.bytesFlushed) / MEGABYTE / wal.seconds,
      entriesPerFsync: wal.entries / fsyncs,
      microsecondsPerFsync,
      ioMicrosecondsPerFsync,
      bare: matched,
      ratioToBare: microsecondsPerFsync / matched.microsecondsPerFsync,
      ioRatioToBare: ioMicrosecondsPerFsync / matched.microsecondsPerFsync,
    };
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The disk's bare write + fdatasync rate in `dir` (4 KiB writes): the physical limit under any log. */
export async function measureBareFsync(dir: string, seconds: number): Promise<BareFsyncResult> {
  const path = join(dir, "bare-fsync.dat");
  const file = await BareFile.create(path);
  try {
    const totals: Totals = { fsyncs: 0, bytes: 0, seconds: 0 };
    await file.loop([BARE_WRITE_BYTES], "write+fdatasync", seconds, totals);
    return bareResult(totals);
  } finally {
    await file.close();
    await rm(path, { force: true });
  }
}

export async function runWalBench(options: WalBenchOptions = {}): Promise<WalBenchResult> {
  const seconds = options.seconds ?? 3;
  const base = options.dir ?? tmpdir();
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(join(base, "kvraft-bench-wal-"));
  try {
    const bareFile = await BareFile.create(join(dir, "bare.dat"));
    try {
      const bareTotals: Totals = { fsyncs: 0, bytes: 0, seconds: 0 };
      await bareFile.loop([BARE_WRITE_BYTES], "write+fdatasync", seconds, bareTotals);
      const runs: WalWritersResult[] = [];
      for (const writers of WRITER_COUNTS) runs.push(await measureWriters(dir, writers, seconds, bareFile));
      const top = runs[runs.length - 1] as WalWritersResult;
      const result: WalBenchResult = {
        dir: base,
        secondsPerRun: seconds,
        entryBytes: ENTRY_BYTES,
        bare: bareResult(bareTotals),
        runs,
        goals: {
          entriesPerFsyncMin: ENTRIES_PER_FSYNC_GOAL,
          entriesPerFsync: top.entriesPerFsync,
          timePerFsyncRatioMax: TIME_PER_FSYNC_RATIO_GOAL,
          timePerFsyncRatio: top.ratioToBare,
          ioTimePerFsyncRatio: top.ioRatioToBare,
          met: top.entriesPerFsync >= ENTRIES_PER_FSYNC_GOAL && top.ratioToBare <= TIME_PER_FSYNC_RATIO_GOAL,
        },
      };
      process.stdout.write(options.json === true ? `${JSON.stringify(result, null, 2)}\n` : formatWalBench(result));
      return result;
    } finally {
      await bareFile.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function formatWalBench(result: WalBenchResult): string {
  const n = (value: number, digits = 0): string =>
    value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const row = (cells: readonly string[], widths: readonly number[]): string => cells.map((cell, i) => cell.padStart(widths[i] ?? 8)).join("");
  const widths = [8, 11, 10, 13, 14, 10, 10, 11, 9, 9];
  const bare = result.bare;
  const lines = [
    `kvraft bench wal: ${result.dir}, ${result.secondsPerRun} s of WAL writing per row, ${result.entryBytes}-byte entries`,
    `bare write+fdatasync of ${n(bare.writeBytes)} B: ${n(bare.fsyncsPerSecond)} fsyncs/s, ${n(bare.microsecondsPerFsync)} us/fsync`,
    "",
    row(["writers", "entries/s", "data MB/s", "written MB/s", "entries/fsync", "us/fsync", "io us", "bare us*", "ratio", "io ratio"], widths),
  ];
  for (const run of result.runs) {
    lines.push(
      row(
        [
          String(run.writers),
          n(run.entriesPerSecond),
          n(run.dataMegabytesPerSecond, 2),
          n(run.writtenMegabytesPerSecond, 2),
          n(run.entriesPerFsync, 1),
          n(run.microsecondsPerFsync),
          n(run.ioMicrosecondsPerFsync),
          n(run.bare.microsecondsPerFsync),
          n(run.ratioToBare, 2),
          n(run.ioRatioToBare, 2),
        ],
        widths,
      ),
    );
  }
  const goals = result.goals;
  lines.push(
    "* bare durable writes (as the WAL makes them) replaying the sizes of the row's WAL writes, interleaved with the WAL run",
    "",
    `goal at 256 writers: >= ${goals.entriesPerFsyncMin} entries/fsync: ${n(goals.entriesPerFsync, 1)}; ` +
      `<= ${n((goals.timePerFsyncRatioMax - 1) * 100)}% more time per fsync than bare: ${n((goals.timePerFsyncRatio - 1) * 100, 1)}% end to end, ` +
      `${n((goals.ioTimePerFsyncRatio - 1) * 100, 1)}% in IO -> ${goals.met ? "met" : "NOT met"}`,
    "",
  );
  return lines.join("\n");
}
