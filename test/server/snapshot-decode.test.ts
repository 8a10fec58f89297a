/**
 * A snapshot whose checksum matches but whose key-value state does not decode is refused,
 * not installed (issue 15).
 *
 * Members 1 and 2 reach member 3's peer port through a proxy that rewrites the first
 * InstallSnapshot message it carries: the first byte of the snapshot data (the format's
 * magic) is altered and the CRC32C in the meta recomputed, as a leader with a bug or a
 * malicious member would send it; the checksum check passes. Then it drops InstallSnapshot
 * messages until the test lets them through, so member 3's state can be looked at before
 * the leader's resend arrives. On the old code the snapshot was installed and member 3
 * stopped when it restored it. Now its last chunk is held while the snapshot is decoded
 * (server/snapshot-admission.ts): refused, logged, counted; the member keeps its old state
 * and stays up, and the leader's next transfer installs, decoded once.
 */
import { crc32c } from "@node-rs/crc32";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KvStateMachine } from "../../src/kv/index.js";
import type { SnapshotChunk } from "../../src/raft/messages.js";
import { decodeMessage, encodeMessage } from "../../src/transport/codec.js";
import { FrameType } from "../../src/transport/frames.js";
import { FRAME_PREFIX_BYTES, type SnapshotCatchUp, expectInstalledAfterRefusal, metricsText, snapshotCatchUp } from "../support/snapshot-catch-up.js";
import { waitFor } from "../support/wait.js";

/** The length prefix, the version and the type byte: the payload (a Raft message) follows. */
const FRAME_HEADER_BYTES = 6;

let setup: SnapshotCatchUp | undefined;

afterEach(async () => {
  vi.restoreAllMocks();
  await setup?.close();
  setup = undefined;
});

describe("a snapshot decodes before it is installed", () => {
  it("a snapshot with a valid checksum whose state does not decode is refused; the member stays up with its old state, and the leader's resend installs, decoded once", async () => {
    let rewritten: SnapshotChunk | undefined;
    let released = false;
    // The first Snap (a whole snapshot in one chunk) becomes one that does not decode, with
    // a valid CRC32C; every later Snap is dropped until released.
    setup = await snapshotCatchUp("snapshot-decode-test", (frame) => {
      const m = frame[FRAME_PREFIX_BYTES + 1] === FrameType.Raft ? decodeMessage(frame.subarray(FRAME_HEADER_BYTES)) : undefined;
      if (m?.type !== "Snap") return frame;
      if (rewritten !== undefined) return released ? frame : undefined;
      if (m.offset !== 0 || !m.done) throw new Error("the test expects a snapshot sent in one chunk");
      const data = new Uint8Array(m.data);
      data[0] = (data[0] as number) ^ 0xff;
      rewritten = { ...m, data, meta: { ...m.meta, checksum: crc32c(data) } };
      const payload = encodeMessage(rewritten);
      const header = Buffer.from(frame.subarray(0, FRAME_HEADER_BYTES));
      header.writeUInt32BE(payload.length + FRAME_HEADER_BYTES - FRAME_PREFIX_BYTES, 0);
      return Buffer.concat([header, payload]);
    });
    const c = setup.cluster;

    const member3 = await c.start(3);
    const refused = await waitFor("a rewritten snapshot to reach member 3", () => rewritten, 15_000);
    await waitFor("member 3 to refuse the snapshot that does not decode", () => member3.replica.snapshotsRefused() === 1 || undefined, 10_000);
    expect(c.log(3)).toMatch(/refused the leader's snapshot at index \d+: .*does not decode/);
    expect(c.log(3)).not.toMatch(/failed its CRC32C/); // The checksum was right: decoding found the fault.
    expect(await metricsText(c, 3)).toMatch(/^kvraft_raft_snapshots_refused_total 1$/m);
    expect(member3.replica.fatalError()).toBeUndefined();
    expect(c.stopped.has(3)).toBe(false);
    // Its old state, and Raft's: nothing of the refused snapshot was installed.
    expect(member3.replica.state().appliedIndex).toBeLessThan(refused.meta.index);
    expect(member3.replica.state().keyCount()).toBe(0);
    expect(member3.replica.status().commit).toBeLessThan(refused.meta.index);
    expect(member3.replica.status().lastIndex).toBeLessThan(refused.meta.index);
    expect(member3.replica.admission.decoded()).toBe(1);

    // The leader sends the snapshot again; this time it arrives whole and installs, decoded once.
    const restores = vi.spyOn(KvStateMachine, "beginRestore");
    released = true;
    await expectInstalledAfterRefusal(c, setup.leader, member3);
    expect(member3.replica.admission.decoded()).toBe(2);
    expect(restores).toHaveBeenCalledTimes(1); // On receipt; installing it decoded nothing again.
  }, 60_000);
});
