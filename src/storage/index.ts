/**
 * The storage layer's public surface: durable Raft log, hard state and snapshots on a
 * data dir (DiskStorage) and their in-memory twin (MemoryStorage).
 */
export { DEFAULT_STORAGE_CONFIG, type StorageConfig, validateStorageConfig } from "./config.js";
export { DiskStorage, type DiskStorageOptions } from "./disk-storage.js";
export { MemoryStorage } from "./memory-storage.js";
export {
  CorruptDataError,
  DataDirLockedError,
  DataDirMismatchError,
  DiskFullError,
  FsyncFailedError,
  REJOIN_REMEDY,
  StorageClosedError,
  StorageConfigError,
  StorageError,
  StorageIoError,
  StorageOverloadedError,
  StorageReadError,
  UnsupportedFormatError,
} from "./errors.js";
export { type FileIo, type WritableFile, nodeFileIo } from "./file-io.js";
export { isStorageFile, META_FILE as STORAGE_META_FILE } from "./file-names.js";
export type { DataDirIdentity } from "./data-dir-meta.js";
export type { IncomingSnapshot, LocalSnapshotMeta, RaftStorage, RecoveryReport, SnapshotData, StorageEvent, StorageStatus } from "./storage-types.js";
export type { StorageUpdate } from "./update-rules.js";
