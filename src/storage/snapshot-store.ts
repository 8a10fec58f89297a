/**
 * Snapshot files: written to a temporary file, fsynced, renamed into place and the
 * directory fsynced, so that a crash leaves either the whole new snapshot or none of it;
 * checked in full at start; read back block by block with every block checked.
 */
import { crc32c } from "@node-rs/crc32";
import { closeSync, fstatSync, openSync } from "node:fs";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { SnapshotMeta } from "../raft/types.js";
import { invariant } from "../assert/invariant.js";
import { CorruptDataError, StorageClosedError, StorageIoError, readFailure } from "./errors.js";
import { type FileIo, type WritableFile, errorCode, syncDirectoryOrFail, syncOrFail, writeFailure } from "./file-io.js";
import { CORRUPT_SUFFIX, TEMPORARY_SUFFIX, snapshotFileName } from "./file-names.js";
import { metaWithChecksum } from "./snapshot-checksum.js";
import type { LocalSnapshotMeta, SnapshotData } from "./storage-types.js";
import {
  SnapshotBlockEncoder,
  type SnapshotLayout,
  encodeSnapshotHeader,
  readSnapshotData,
  readSnapshotLayout,
  reservedSnapshotHeader,
  snapshotDataCrc,
  snapshotFileBytes,
} from "./snapshot-format.js";

/** A durable snapshot file and its layout. */
export interface StoredSnapshot {
  readonly path: string;
  readonly layout: SnapshotLayout;
}

/** Bytes checked per read while validating or streaming a snapshot. */
const READ_STEP_BYTES = 1024 * 1024;

/**
 * A snapshot file being written; nothing is visible under the final name until `commit`.
 * Bytes a write could not put on disk (a full disk) are kept and go first in the next
 * write, so the data handed to `append` is never lost and `append`, `flushPending` and
 * `commit` may be called again after a DiskFullError.
 *
 * The header goes first with room for any size and checksum, and is written again with
 * the real ones at commit: a local snapshot is streamed as it is encoded, its size known
 * only at the end.
 */
export class SnapshotFileWriter {
  private position: number;
  private readonly encoder: SnapshotBlockEncoder;
  /** Encoded bytes not yet written (a write found the disk full). */
  private unwritten: Buffer = Buffer.alloc(0);
  private encoderFinished = false;
  /** CRC32C of the data appended so far: checked against (or becomes) the checksum at commit. */
  private dataCrc = 0;
  /** A received snapshot's size and checksum, which its data must match; undefined for a local one's. */
  private readonly expected: { readonly sizeBytes: number; readonly checksum?: number } | undefined;

  private constructor(
    private readonly dir: string,
    private readonly io: FileIo,
    /** With sizeBytes (and checksum) for a received snapshot, whose data must match them; without for a local one. */
    readonly meta: LocalSnapshotMeta | SnapshotMeta,
    private readonly blockBytes: number,
    private readonly file: WritableFile,
    private readonly headerBytes: number,
  ) {
    this.position = headerBytes;
    this.encoder = new SnapshotBlockEncoder(blockBytes);
    this.expected = "sizeBytes" in meta ? meta : undefined;
  }

  static async create(dir: string, io: FileIo, meta: LocalSnapshotMeta | SnapshotMeta, blockBytes: number, kind: "local" | "incoming"): Promise<SnapshotFileWriter> {
    const suffix = kind === "local" ? TEMPORARY_SUFFIX : `.incoming${TEMPORARY_SUFFIX}`;
    const path = join(dir, snapshotFileName(meta.index) + suffix);
    await io.unlink(path).catch(() => undefined);
    const file = await io.open(path, "create").catch((error: unknown) => {
      throw writeFailure(error, path);
    });
    const header = reservedSnapshotHeader(meta, blockBytes);
    const writer = new SnapshotFileWriter(dir, io, meta, blockBytes, file, header.length);
    try {
      await writer.writeAt(header, 0);
    } catch (error) {
      await writer.discard();
      throw error;
    }
    return writer;
  }

  dataBytes(): number {
    return this.encoder.dataBytes();
  }

  async append(data: Uint8Array): Promise<void> {
    const sizeBytes = this.expected?.sizeBytes ?? Number.POSITIVE_INFINITY;
    invariant(this.encoder.dataBytes() + data.byteLength <= sizeBytes, () =>
      `snapshot ${this.meta.index} data exceeds its sizeBytes ${sizeBytes}`);
    const encoded = this.encoder.push(data);
    this.dataCrc = crc32c(data, this.dataCrc);
    await this.writeAt(encoded, this.position);
  }

  /** Writes what an earlier write left unwritten (nothing if none). */
  async flushPending(): Promise<void> {
    await this.writeAt(Buffer.alloc(0), this.position);
  }

  /**
   * Makes the file durable under its final name: fsync, rename, directory fsync. Data
   * whose CRC32C is not the meta's checksum never gets there (CorruptDataError).
   */
  async commit(): Promise<StoredSnapshot> {
    const sizeBytes = this.encoder.dataBytes();
    invariant(this.expected === undefined || sizeBytes === this.expected.sizeBytes, () =>
      `snapshot ${this.meta.index} received ${sizeBytes} bytes, its sizeBytes is ${this.expected?.sizeBytes}`);
    const { index, term, config } = this.meta;
    const checksum = this.expected?.checksum;
    const meta = metaWithChecksum({ index, term, config, sizeBytes, ...(checksum === undefined ? {} : { checksum }) }, this.dataCrc, this.file.path);
    let last: Buffer = Buffer.alloc(0);
    if (!this.encoderFinished) {
      last = this.encoder.finish();
      this.encoderFinished = true;
    }
    await this.writeAt(last, this.position);
    // In place of the reserved header: the same length, so nothing after it moves.
    const header = encodeSnapshotHeader(meta, this.blockBytes, this.headerBytes);
    await this.file.write(header, 0).catch((error: unknown) => {
      throw writeFailure(error, this.file.path);
    });
    await syncOrFail(this.file.path, () => this.file.datasync());
    await this.file.close();
    const path = join(this.dir, snapshotFileName(this.meta.index));
    await this.io.rename(this.file.path, path);
    await syncDirectoryOrFail(this.io, this.dir);
    return { path, layout: { meta, blockBytes: this.blockBytes, dataStart: this.headerBytes } };
  }

  async discard(): Promise<void> {
    await this.file.close().catch(() => undefined);
    await this.io.unlink(this.file.path).catch(() => undefined);
  }

  private async writeAt(fresh: Buffer, position: number): Promise<void> {
    const bytes = this.unwritten.length === 0 ? fresh : Buffer.concat([this.unwritten, fresh]);
    if (bytes.length === 0) return;
    try {
      await this.file.write(bytes, position);
    } catch (error) {
      this.unwritten = bytes;
      throw writeFailure(error, this.file.path);
    }
    this.unwritten = Buffer.alloc(0);
    this.position = position + bytes.length;
  }
}

/**
 * Writes a whole local snapshot as its data comes; on any failure the temporary file is
 * removed and nothing changes. `closing` stops a streamed one at its next piece
 * (StorageClosedError): a member shutting down does not wait for the rest of an encoding.
 */
export async function writeSnapshot(
  dir: string,
  io: FileIo,
  meta: LocalSnapshotMeta,
  blockBytes: number,
  data: SnapshotData,
  closing: () => boolean = () => false,
): Promise<StoredSnapshot> {
  const writer = await SnapshotFileWriter.create(dir, io, meta, blockBytes, "local");
  try {
    if (data instanceof Uint8Array) await writer.append(data);
    else {
      for await (const chunk of data) {
        if (closing()) throw new StorageClosedError(`the local snapshot at ${meta.index} was still being written; it is discarded (the log holds its entries)`);
        await writer.append(chunk);
      }
    }
    return await writer.commit();
  } catch (error) {
    await writer.discard();
    throw error;
  }
}

function openForReading(path: string): number {
  try {
    return openSync(path, "r");
  } catch (error) {
    throw readFailure(error, path);
  }
}

/**
 * Checks a snapshot file completely (header, size, every block, the whole data's
 * checksum) and returns its layout; the meta of a file without a checksum gets one.
 */
export function validateSnapshotFile(path: string, expectedIndex: number): StoredSnapshot {
  const fd = openForReading(path);
  try {
    const layout = readSnapshotLayout(fd, path);
    if (layout.meta.index !== expectedIndex) {
      throw new CorruptDataError(`the snapshot header says index ${layout.meta.index}, its name says ${expectedIndex}`, { file: path, offset: 16 });
    }
    const expectedBytes = snapshotFileBytes(layout);
    const actualBytes = fstatSync(fd).size;
    if (actualBytes !== expectedBytes) {
      throw new CorruptDataError(`the snapshot file is ${actualBytes} bytes, its header implies ${expectedBytes}`, { file: path, offset: Math.min(actualBytes, expectedBytes) });
    }
    const dataCrc = snapshotDataCrc(fd, path, layout, READ_STEP_BYTES);
    return { path, layout: { ...layout, meta: metaWithChecksum(layout.meta, dataCrc, path) } };
  } finally {
    closeSync(fd);
  }
}

/** Streams a snapshot's data, each block checked before it is yielded. */
export async function* streamSnapshot(stored: StoredSnapshot): AsyncIterable<Uint8Array> {
  const { layout, path } = stored;
  const fd = openForReading(path);
  try {
    const step = Math.max(layout.blockBytes, Math.floor(READ_STEP_BYTES / layout.blockBytes) * layout.blockBytes);
    for (let offset = 0; offset < layout.meta.sizeBytes; offset += step) {
      yield readSnapshotData(fd, path, layout, offset, step);
      // Let other work run between steps: a large snapshot must not hold the event loop.
      await nextTurn();
    }
  } finally {
    closeSync(fd);
  }
}

/** Removes snapshot files and fsyncs the directory once. */
export async function removeSnapshotFiles(io: FileIo, dir: string, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  for (const path of paths) {
    await io.unlink(path).catch((error: unknown) => {
      if (errorCode(error) !== "ENOENT") throw new StorageIoError("removing an old snapshot", path, error);
    });
  }
  await syncDirectoryOrFail(io, dir);
}

/** Renames a snapshot that failed its checks out of the way, keeping it for inspection. */
export async function setSnapshotAside(io: FileIo, dir: string, path: string): Promise<void> {
  await io.rename(path, path + CORRUPT_SUFFIX);
  await syncDirectoryOrFail(io, dir);
}
