/**
 * Byte helpers of the kv layer. The reader and writer every kv codec uses are the shared
 * ones (`../codec/bytes.ts`): a kv decoder injects its own error class
 * (CommandDecodeError, SnapshotDecodeError, KvDecodeError).
 */
export { ByteReader, ByteWriter } from "../codec/bytes.js";

/**
 * A key as a Map key and sort key: one UTF-16 code unit per byte (latin1). Comparing
 * these strings with < compares the bytes lexicographically, which is the key order.
 */
export function keyId(key: Uint8Array): string {
  let id = "";
  // Chunks keep the argument count far below engine limits; `apply` takes the typed
  // array as it is, several times faster than spreading it.
  const chunkBytes = 4096;
  for (let start = 0; start < key.length; start += chunkBytes) {
    id += String.fromCharCode.apply(null, key.subarray(start, start + chunkBytes) as unknown as number[]);
  }
  return id;
}

/** The key's bytes back from its id (keyId's inverse): a new array the caller may keep. */
export function keyBytes(id: string): Uint8Array {
  const key = new Uint8Array(id.length);
  for (let i = 0; i < id.length; i++) key[i] = id.charCodeAt(i);
  return key;
}

export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[i] !== prefix[i]) return false;
  }
  return true;
}

