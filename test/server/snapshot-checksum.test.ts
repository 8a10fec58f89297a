/**
 * A snapshot corrupted on its way to a member is refused, not installed (issue 15).
 *
 * Members 1 and 2 reach member 3's peer port through a proxy that flips one bit of the
 * first InstallSnapshot chunk it carries (the last byte of its frame: snapshot data). Member
 * 3 starts after the leader has compacted its log, so it can only catch up by snapshot.
 * On the old code the corrupted bytes were installed: the member stopped on a snapshot
 * that did not decode, or served a state that was not the leader's. Now the chunk fails
 * the whole-snapshot CRC32C, the transfer is dropped and counted, the member keeps its
 * old state and stays up, and the leader's next transfer installs.
 */
import { afterEach, describe, expect, it } from "vitest";
import { FrameType } from "../../src/transport/frames.js";
import { FRAME_PREFIX_BYTES, type SnapshotCatchUp, expectInstalledAfterRefusal, metricsText, snapshotCatchUp } from "../support/snapshot-catch-up.js";
import { waitFor } from "../support/wait.js";

/** The wire code of a Snap message (transport/codec.ts): the first payload byte of its RAFT frame. */
const SNAP_TYPE_CODE = 9;

let setup: SnapshotCatchUp | undefined;

afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

describe("a snapshot is checked whole before it is installed", () => {
  it("a snapshot whose bytes were flipped in transit is refused; the member stays up with its old state, and the leader's resend installs", async () => {
    let corrupted = 0;
    // Flips a bit in the last byte of the first Snap frame.
    setup = await snapshotCatchUp("snapshot-checksum-test", (frame) => {
      const isSnap = frame[FRAME_PREFIX_BYTES + 1] === FrameType.Raft && frame[FRAME_PREFIX_BYTES + 2] === SNAP_TYPE_CODE;
      if (isSnap && corrupted < 1) {
        corrupted++;
        frame[frame.length - 1] = (frame[frame.length - 1] as number) ^ 0x04;
      }
      return frame;
    });
    const c = setup.cluster;

    const member3 = await c.start(3);
    await waitFor("a corrupted snapshot chunk to reach member 3", () => corrupted === 1 || undefined, 15_000);
    await waitFor("member 3 to refuse the corrupted snapshot", () => member3.replica.snapshotsRefused() === 1 || undefined, 10_000);
    expect(c.log(3)).toMatch(/refused the leader's snapshot at index \d+: .*failed its CRC32C/);
    expect(await metricsText(c, 3)).toMatch(/^kvraft_raft_snapshots_refused_total 1$/m);
    expect(member3.replica.fatalError()).toBeUndefined();

    // The leader sends the snapshot again; this time it arrives whole and installs.
    await expectInstalledAfterRefusal(c, setup.leader, member3);
  }, 60_000);
});
