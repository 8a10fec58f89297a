/** A FileIo that injects failures: a full disk, a failing fsync, a crash after a rename. */
import { FsyncFailedError, type FileIo, nodeFileIo } from "../../src/storage/index.js";

export function errnoError(code: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: injected by the test`);
  error.code = code;
  return error;
}

export interface Faults {
  /** Return an error to fail this write; `partialBytes` of it are written first. */
  write?: (path: string, bytes: Uint8Array, position: number) => { error: NodeJS.ErrnoException; partialBytes?: number } | undefined;
  /** Return an error to fail this fdatasync. */
  datasync?: (path: string) => NodeJS.ErrnoException | undefined;
  /** Observes each rename once it is done. */
  renamed?: (from: string, to: string) => void;
}

export function faultyIo(faults: Faults, base: FileIo = nodeFileIo): FileIo {
  return {
    async open(path, mode) {
      const file = await base.open(path, mode);
      return {
        path,
        async write(bytes, position) {
          const fault = faults.write?.(path, bytes, position);
          if (fault === undefined) return file.write(bytes, position);
          if (fault.partialBytes !== undefined && fault.partialBytes > 0) {
            await file.write(bytes.subarray(0, fault.partialBytes), position);
          }
          throw fault.error;
        },
        async writeDurably(bytes, position) {
          const fault = faults.write?.(path, bytes, position);
          if (fault !== undefined) {
            if (fault.partialBytes !== undefined && fault.partialBytes > 0) {
              await file.write(bytes.subarray(0, fault.partialBytes), position);
            }
            throw fault.error;
          }
          const error = faults.datasync?.(path);
          if (error !== undefined) {
            await file.write(bytes, position);
            throw new FsyncFailedError(path, error);
          }
          return file.writeDurably(bytes, position);
        },
        async datasync() {
          const error = faults.datasync?.(path);
          if (error !== undefined) throw error;
          return file.datasync();
        },
        truncate: (bytes) => file.truncate(bytes),
        close: () => file.close(),
      };
    },
    async rename(from, to) {
      await base.rename(from, to);
      faults.renamed?.(from, to);
    },
    unlink: (path) => base.unlink(path),
    syncDirectory: (path) => base.syncDirectory(path),
  };
}
