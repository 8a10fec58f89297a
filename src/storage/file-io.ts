/**
 * The file operations on the storage write paths, behind a narrow interface so that tests
 * can inject a full disk or a failing fsync. Reads are synchronous and use `node:fs`
 * directly: the Raft core reads the log synchronously.
 */
import { constants } from "node:fs";
import { type FileHandle, mkdir, open, rename, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { DiskFullError, FsyncFailedError, StorageError, StorageIoError } from "./errors.js";

export interface WritableFile {
  readonly path: string;
  /** Writes all of `bytes` at `position` (looping over short writes). */
  write(bytes: Uint8Array, position: number): Promise<void>;
  /**
   * Writes all of `bytes` at `position` and makes them durable, as write + fdatasync do,
   * in one call: one trip through the thread pool instead of two. A failure of the
   * durability part rejects with FsyncFailedError (what is on disk is then unknown);
   * anything else rejects with the write's own error.
   */
  writeDurably(bytes: Uint8Array, position: number): Promise<void>;
  datasync(): Promise<void>;
  truncate(bytes: number): Promise<void>;
  close(): Promise<void>;
}

export interface FileIo {
  /** "create" fails if the file exists; "existing" fails if it does not and never truncates. */
  open(path: string, mode: "create" | "existing"): Promise<WritableFile>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync of a directory: makes creations, renames and removals in it durable. */
  syncDirectory(path: string): Promise<void>;
}

export const nodeFileIo: FileIo = {
  async open(path, mode) {
    const handle = await open(path, mode === "create" ? "wx" : "r+");
    // A second descriptor opened with O_DSYNC, on first use: each write through it returns
    // once durable (Linux syncs the written range as fdatasync would). Measured here, three
    // processes each writing 300 bytes durably: 195 us per write against 238 us for a
    // write and an fdatasync, since the thread pool is crossed once.
    let durable: FileHandle | undefined;
    let opening: Promise<FileHandle> | undefined;
    return {
      path,
      write: (bytes, position) => writeAll(handle, bytes, position),
      async writeDurably(bytes, position) {
        if (constants.O_DSYNC === undefined) {
          await writeAll(handle, bytes, position);
          return syncOrFail(path, () => handle.datasync());
        }
        // Kept once open: awaiting it on every write would cost a turn of the microtask queue.
        // Callers racing to the first write share one open, so no descriptor is leaked.
        durable ??= await (opening ??= open(path, constants.O_WRONLY | constants.O_DSYNC));
        try {
          await writeAll(durable, bytes, position);
        } catch (error) {
          // A refused write (a full disk) left nothing durable that was not before; any
          // other failure may have lost pages that an O_DSYNC write had dirtied.
          if (isDiskFull(error)) throw error;
          throw new FsyncFailedError(path, error);
        }
      },
      datasync: () => handle.datasync(),
      truncate: (bytes) => handle.truncate(bytes),
      async close() {
        const dsync = durable ?? (await opening?.catch(() => undefined));
        await dsync?.close();
        await handle.close();
      },
    };
  },
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async syncDirectory(path) {
    const handle = await open(path, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, position + done);
    done += bytesWritten;
  }
}

export function errorCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") {
    return error.code;
  }
  return undefined;
}

export function isDiskFull(error: unknown): boolean {
  const code = errorCode(error);
  return code === "ENOSPC" || code === "EDQUOT";
}

/** A failed write: a full disk is retryable, anything else is fatal. */
export function writeFailure(error: unknown, file: string): StorageError {
  if (error instanceof StorageError) return error;
  return isDiskFull(error) ? new DiskFullError(file, error) : new StorageIoError("write", file, error);
}

/** Runs an fsync-like call, turning any failure into a (fatal) FsyncFailedError. */
export async function syncOrFail(file: string, sync: () => Promise<void>): Promise<void> {
  try {
    await sync();
  } catch (error) {
    throw new FsyncFailedError(file, error);
  }
}

/** fsync of a directory, with a failure reported as fatal. */
export function syncDirectoryOrFail(io: FileIo, dir: string): Promise<void> {
  return syncOrFail(dir, () => io.syncDirectory(dir));
}

/**
 * Replaces `dir/name` atomically and durably: write a temporary file, fsync it, rename
 * it into place, fsync the directory. A crash leaves the old file or the new one.
 */
export async function writeFileDurably(io: FileIo, dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const target = join(dir, name);
  const temporary = `${target}.tmp`;
  await io.unlink(temporary).catch(() => undefined);
  const file = await io.open(temporary, "create").catch((error: unknown) => {
    throw writeFailure(error, temporary);
  });
  try {
    await file.write(bytes, 0).catch((error: unknown) => {
      throw writeFailure(error, temporary);
    });
    await syncOrFail(temporary, () => file.datasync());
  } catch (error) {
    await file.close().catch(() => undefined);
    await io.unlink(temporary).catch(() => undefined);
    throw error;
  }
  await file.close();
  await io.rename(temporary, target);
  await syncDirectoryOrFail(io, dir);
}

/**
 * Creates `dir` (and missing parents) so that it survives a crash: each new directory's
 * entry lives in its parent, which is fsynced. Without this, a crash soon after the
 * first start could lose the whole data dir along with everything acknowledged in it.
 */
export async function createDirectoryDurably(io: FileIo, dir: string): Promise<void> {
  const target = resolve(dir);
  const firstCreated = await mkdir(target, { recursive: true });
  if (firstCreated === undefined) return;
  for (let created = target; ; created = dirname(created)) {
    await syncDirectoryOrFail(io, dirname(created));
    if (created === resolve(firstCreated)) break;
  }
}
