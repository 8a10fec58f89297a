/**
 * The KVRaft backup file: a snapshot with the metadata to say where it came from and the
 * checksums to prove it is whole. Pure: bytes in, bytes out; the CRC32C function is
 * passed in (see format.ts), files and networks are the caller's.
 */
export { BackupFormatError, BackupMetaError, type BackupSection } from "./errors.js";
export { BACKUP_FORMAT_VERSION, type BackupTrailer, type Crc32c, hex32, TRAILER_BYTES } from "./format.js";
export { BACKUP_LIMITS, BODY_FORMAT_KV_SNAPSHOT, type BackupMeta, validateBackupMeta } from "./meta.js";
export { BackupReader, readBackup, type VerifiedBackup } from "./reader.js";
export { BackupWriter, encodeBackup } from "./writer.js";
