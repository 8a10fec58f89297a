/** What a backup file holds, read as a test checks it: every checksum verified, the body decoded as the state machine it is. */
import { crc32c } from "@node-rs/crc32";
import { createReadStream } from "node:fs";
import { readBackup } from "../../src/backup/index.js";
import { KvStateMachine } from "../../src/kv/index.js";

/** The body of a verified backup, decoded as the state machine it holds, with the revision its header names. */
export async function stateIn(file: string): Promise<{ kv: KvStateMachine; revision: number }> {
  const body: Uint8Array[] = [];
  const verified = await readBackup(createReadStream(file), crc32c, (slice) => body.push(Uint8Array.from(slice)));
  return { kv: KvStateMachine.restore(Buffer.concat(body)), revision: verified.meta.revision };
}
