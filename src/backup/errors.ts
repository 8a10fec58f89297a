/**
 * Why a file is not a sound KVRaft backup. `section` says where the fault is (a backup is
 * a header, a body and a trailer, each with its own checksum), `offset` the byte of the
 * file where reading found it, so that an operator can tell a damaged copy from a
 * truncated one or from a file that was never a backup.
 */
export type BackupSection = "header" | "body" | "trailer" | "file";

export class BackupFormatError extends Error {
  override readonly name = "BackupFormatError";

  constructor(
    readonly section: BackupSection,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${section} at byte ${offset}: ${reason}`);
  }
}

/** Metadata that the format cannot hold (a programming or input error at the writer). */
export class BackupMetaError extends Error {
  override readonly name = "BackupMetaError";

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`backup metadata: ${field} ${message}`);
  }
}
