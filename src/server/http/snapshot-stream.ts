import { crc32c } from "@node-rs/crc32";
import { once } from "node:events";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Response } from "express";
import type { SnapshotEncoder } from "../../kv/index.js";

/** Keys encoded per turn of the event loop: a few milliseconds of work, so heartbeats go on. */
const SNAPSHOT_KEYS_PER_TURN = 5_000;
/** The trailer that carries the CRC32C of the bytes sent, known only at their end. */
export const SNAPSHOT_CRC_TRAILER = "X-Kvraft-Snapshot-Crc32c";

/**
 * Sends a captured state as it is encoded, a slice of keys per turn of the event loop,
 * each finished piece written as soon as it is cut and the next slice encoded only once
 * the socket has taken it: the member never holds the whole encoding. The length is not
 * known in advance, so the answer is chunked, and its CRC32C comes as a trailer. A
 * client that goes away stops the writing, not the encoding: the capture's copy-on-write
 * ends only once every key has been read.
 */
export async function streamSnapshot(res: Response, encoder: SnapshotEncoder): Promise<void> {
  res.status(200).type("application/octet-stream");
  res.setHeader("Trailer", SNAPSHOT_CRC_TRAILER);
  let crc = 0;
  let gone = false;
  res.once("close", () => { gone = true; });
  for (;;) {
    const done = encoder.encodeSome(SNAPSHOT_KEYS_PER_TURN);
    for (const piece of done ? encoder.finishChunks() : encoder.takeChunks()) {
      if (gone) continue;
      crc = crc32c(piece, crc);
      if (!res.write(piece)) await Promise.race([once(res, "drain"), once(res, "close")]);
    }
    if (done) break;
    await nextTurn();
  }
  if (gone) return;
  res.addTrailers({ [SNAPSHOT_CRC_TRAILER]: String(crc) });
  res.end();
}
