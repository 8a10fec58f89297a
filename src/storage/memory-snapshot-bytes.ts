import type { SnapshotMeta } from "../raft/types.js";
import { invariant } from "../assert/invariant.js";
import { joinBytes } from "../codec/bytes.js";
import { crc32c } from "@node-rs/crc32";
import type { IncomingSnapshot, LocalSnapshotMeta, SnapshotData } from "./storage-types.js";

/** A local snapshot's whole meta, its size and checksum read from its data. */
export function localSnapshotMeta(meta: LocalSnapshotMeta, data: Uint8Array): SnapshotMeta {
  return { index: meta.index, term: meta.term, config: meta.config, sizeBytes: data.byteLength, checksum: crc32c(data) };
}

/**
 * A snapshot from the leader gathered in memory, for storages without files (MemoryStorage,
 * the simulator's disk): chunks in order, a retransmitted chunk's new part kept; `install`
 * gets the whole data at finish().
 */
export function memoryIncomingSnapshot(meta: SnapshotMeta, install: (data: Uint8Array) => Promise<void>): IncomingSnapshot {
  const chunks: Uint8Array[] = [];
  let received = 0;
  let ended = false;
  return {
    meta,
    receivedBytes: () => received,
    writeChunk: async (offset, bytes) => {
      invariant(!ended && offset <= received, () => `chunk at offset ${offset} leaves a gap after ${received} received bytes`);
      const skip = received - offset;
      if (skip >= bytes.byteLength) return;
      chunks.push(bytes.slice(skip));
      received += bytes.byteLength - skip;
    },
    finish: async () => {
      invariant(!ended && received === meta.sizeBytes, () => `incoming snapshot has ${received} of ${meta.sizeBytes} bytes`);
      ended = true;
      await install(joinBytes(chunks));
    },
    abort: async () => {
      ended = true;
    },
  };
}

/** A snapshot's data given whole, as pieces or as an async iterable of pieces, as one array. */
export async function collectBytes(data: SnapshotData): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data)) return joinBytes(data as readonly Uint8Array[]);
  const parts: Uint8Array[] = [];
  for await (const part of data) parts.push(part);
  return joinBytes(parts);
}
