/**
 * Byte helpers of the kv layer. The reader and writer every kv codec uses are the shared
 * ones (`../codec/bytes.ts`): a kv decoder injects its own error class
 * (CommandDecodeError, SnapshotDecodeError, KvDecodeError).
 */
export { ByteReader, ByteWriter, TRUNCATED, type ByteValues } from "../codec/bytes.js";

export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[i] !== prefix[i]) return false;
  }
  return true;
}


/** Compares two byte strings lexicographically: negative, 0 or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) {
    const difference = (a[i] as number) - (b[i] as number);
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}
