import { describe, expect, it } from "vitest";
import { joinBytes } from "../../src/codec/bytes.js";
import { Replica } from "./helpers.js";

describe("snapshot encoding handed out as it goes (SnapshotEncoder.takeChunks)", () => {
  it("gives pieces whose concatenation with the rest is the snapshot, none twice, while writes go on", () => {
    const replica = new Replica();
    for (let i = 0; i < 400; i++) replica.put(`key-${String(i).padStart(4, "0")}`, "v".repeat(8 * 1024));
    const expected = replica.machine.snapshot();
    const encoder = replica.machine.beginSnapshot();
    const pieces: Uint8Array[] = [];
    let takes = 0;
    while (!encoder.encodeSome(50)) {
      const taken = encoder.takeChunks();
      if (taken.length > 0) takes++;
      pieces.push(...taken);
      // A write after the capture is not in this snapshot.
      replica.put("later", "x");
    }
    pieces.push(...encoder.finishChunks());
    expect(takes).toBeGreaterThan(1);
    expect(Buffer.from(joinBytes(pieces)).equals(Buffer.from(expected))).toBe(true);
  });
});
