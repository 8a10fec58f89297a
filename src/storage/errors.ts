/**
 * Every failure the storage layer reports, one class per kind, so that callers decide
 * with `instanceof` and people read what failed, where, and what to do.
 *
 * Operating errors (a full disk, a corrupt file, a locked data dir) are expected and
 * handled by the server. A caller that breaks a rule of the contract is a programmer error:
 * that throws an InvariantError (src/assert/), and the process crashes with the numbers.
 */

/** The remedy for data that failed its checksum where truncation is not safe. */
export const REJOIN_REMEDY =
  "stop this server, remove the member from the cluster (kvraft members remove <id>), " +
  "move the data dir aside, and add the member back so that it rejoins from the leader's snapshot";

export interface StorageErrorDetails {
  /** The file the failure is about, when there is one. */
  readonly file?: string;
  /** The byte offset inside `file` where the failure was found. */
  readonly offset?: number;
  /** What an operator should do about it, as a sentence. */
  readonly remedy?: string;
  readonly cause?: unknown;
}

export class StorageError extends Error {
  override readonly name: string = "StorageError";
  /** What failed, without the location and remedy that `message` adds. */
  readonly what: string;
  readonly file: string | undefined;
  readonly offset: number | undefined;
  readonly remedy: string | undefined;

  constructor(what: string, details: StorageErrorDetails = {}) {
    super(formatMessage(what, details), details.cause === undefined ? undefined : { cause: details.cause });
    this.what = what;
    this.file = details.file;
    this.offset = details.offset;
    this.remedy = details.remedy;
  }
}

function formatMessage(what: string, details: StorageErrorDetails): string {
  let where = "";
  if (details.file !== undefined) {
    where = details.offset === undefined ? ` (file ${details.file})` : ` (file ${details.file}, offset ${details.offset})`;
  }
  const remedy = details.remedy === undefined ? "" : `. What to do: ${details.remedy}`;
  return `${what}${where}${remedy}`;
}

/** A config field is out of range; `field` names it. */
export class StorageConfigError extends StorageError {
  override readonly name = "StorageConfigError";
  constructor(
    readonly field: string,
    readonly value: unknown,
    requirement: string,
  ) {
    super(`storage config field ${field} = ${String(value)} is invalid: ${requirement}`, {
      remedy: `set ${field} to a value that satisfies: ${requirement}`,
    });
  }
}

/** Data on disk failed its checksum or its format where it cannot be safely dropped. */
export class CorruptDataError extends StorageError {
  override readonly name = "CorruptDataError";
  constructor(what: string, details: StorageErrorDetails & { readonly file: string }) {
    super(what, { remedy: REJOIN_REMEDY, ...details });
  }
}

/** Another live server holds the data dir's lock. */
export class DataDirLockedError extends StorageError {
  override readonly name = "DataDirLockedError";
  constructor(
    lockFile: string,
    readonly holderPid: number,
    readonly holderHost: string,
  ) {
    super(`data dir is in use by another kvraft server (pid ${holderPid} on host ${holderHost})`, {
      file: lockFile,
      remedy:
        "give each server its own data dir; if no kvraft server runs with that pid on that host, " +
        "delete the lock file and start again",
    });
  }
}

/** The data dir belongs to another cluster or member. */
export class DataDirMismatchError extends StorageError {
  override readonly name = "DataDirMismatchError";
  constructor(
    metaFile: string,
    readonly field: "clusterId" | "memberId",
    readonly expected: string,
    readonly found: string,
  ) {
    super(`data dir belongs to ${field} ${found}, but this server was started as ${field} ${expected}`, {
      file: metaFile,
      remedy: "point the server at its own data dir, or move this one aside if it is left over from another cluster",
    });
  }
}

/** The data dir was written in a format this version does not read. */
export class UnsupportedFormatError extends StorageError {
  override readonly name = "UnsupportedFormatError";
  constructor(
    file: string,
    readonly formatVersionFound: number,
    readonly formatVersionSupported: number,
  ) {
    super(`data format version ${formatVersionFound} is not supported (this kvraft reads version ${formatVersionSupported})`, {
      file,
      remedy: "run a kvraft version that reads this format, or let the member rejoin with an empty data dir",
    });
  }
}

/**
 * The disk is full (ENOSPC or EDQUOT). Nothing was acknowledged and nothing on disk was
 * damaged; the write may be retried once space is back. Retryable.
 */
export class DiskFullError extends StorageError {
  override readonly name = "DiskFullError";
  constructor(file: string, cause: unknown) {
    super("disk full: the write was not made durable", {
      file,
      cause,
      remedy: "free space on the volume (or grow it); writes resume on their own once space is back",
    });
  }
}

/**
 * An fsync failed. After a failed fsync the kernel may have dropped the dirty pages, so
 * what is on disk is unknown until a restart re-reads it ("fsyncgate"). Fatal: the
 * server must stop and recover from disk at its next start.
 */
export class FsyncFailedError extends StorageError {
  override readonly name = "FsyncFailedError";
  constructor(file: string, cause: unknown) {
    super("fsync failed: the state of the file on disk is unknown", {
      file,
      cause,
      remedy: "restart the server; it recovers from what is on disk (check the volume's health if it repeats)",
    });
  }
}

/** An IO error other than a full disk while writing. Fatal, like a failed fsync. */
export class StorageIoError extends StorageError {
  override readonly name = "StorageIoError";
  constructor(operation: string, file: string, cause: unknown) {
    super(`${operation} failed`, {
      file,
      cause,
      remedy: "restart the server; it recovers from what is on disk (check the volume's health if it repeats)",
    });
  }
}

/**
 * A file of the data dir could not be read (EIO, permissions, not a regular file). At
 * startup the server refuses to start; while running it stops (the Raft core reads the
 * log synchronously and cannot go on without it).
 */
export class StorageReadError extends StorageError {
  override readonly name = "StorageReadError";
  constructor(file: string, cause: unknown) {
    super(`reading failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      file,
      cause,
      remedy: `check the volume's health (the kernel log) and the file's permissions, then restart; if the file stays unreadable, ${REJOIN_REMEDY}`,
    });
  }
}

/** A failed read as a StorageReadError naming the file (a StorageError is passed on as it is). */
export function readFailure(error: unknown, file: string): StorageError {
  return error instanceof StorageError ? error : new StorageReadError(file, error);
}

/** The storage was closed, or stopped after a fatal error, and takes no more calls. */
export class StorageClosedError extends StorageError {
  override readonly name = "StorageClosedError";
  constructor(reason: string, cause?: unknown) {
    super(`storage is closed: ${reason}`, { cause });
  }
}

/** Too many bytes are queued for writing: the caller outran the disk. */
export class StorageOverloadedError extends StorageError {
  override readonly name = "StorageOverloadedError";
  constructor(queuedBytes: number, queuedBytesMax: number) {
    super(`write queue holds ${queuedBytes} bytes, above persistQueueBytesMax = ${queuedBytesMax}`, {
      remedy: "wait for earlier writes to resolve before submitting more (apply backpressure upstream)",
    });
  }
}
