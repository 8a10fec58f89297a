import type * as net from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/raft/messages.js";
import { EntryType } from "../../src/raft/types.js";
import { encodeMessage } from "../../src/transport/codec.js";
import { encodeFrame, encodeRaftFrame, FrameType } from "../../src/transport/frames.js";
import type { QueuedFrame } from "../../src/transport/send-queue.js";
import { batchBuffers, FRAME_JOIN_BYTES_MAX, writeBatch } from "../../src/transport/socket-util.js";
import { anyMessage, sampleMessages } from "./messages.js";

const frameOf = (bytes: number, fill = 1): QueuedFrame => ({ messageType: "App", term: 1, bytes: new Uint8Array(bytes).fill(fill) });
/** Byte-for-byte equality, fast on megabytes (toEqual walks elements one by one). */
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
const joined = (parts: readonly Uint8Array[]): Uint8Array => Buffer.concat(parts);
const bytesOf = (frames: readonly QueuedFrame[]): Uint8Array[] => frames.map((frame) => frame.bytes);

function append(entryCount: number, entryBytes: number): Message {
  const entries = Array.from({ length: entryCount }, (_, i) => ({ term: 3, index: 1000 + i, type: EntryType.Normal, data: new Uint8Array(entryBytes).fill(i) }));
  return { type: "App", from: 1, to: 2, term: 3, prevIndex: 999, prevTerm: 3, entries, commit: 990, session: 1, votingBarrier: 0 };
}

describe("peer write path: a frame encoded in place", () => {
  it("encodeRaftFrame gives the same bytes as framing encodeMessage's payload", () => {
    for (const message of [...sampleMessages(1, 2), append(1, 300), append(16, 64 * 1024), append(200, 3)]) {
      expect(sameBytes(encodeRaftFrame(message), encodeFrame(FrameType.Raft, encodeMessage(message)))).toBe(true);
    }
    fc.assert(fc.property(anyMessage(), (message) => {
      expect(sameBytes(encodeRaftFrame(message), encodeFrame(FrameType.Raft, encodeMessage(message)))).toBe(true);
    }), { numRuns: 300 });
  });

  it("an append's frame is its own buffer, not a view of a larger one", () => {
    const frame = encodeRaftFrame(append(16, 64 * 1024));
    expect(frame.byteOffset).toBe(0);
    expect(frame.buffer.byteLength - frame.length).toBeLessThanOrEqual(frame.length / 8);
  });
});

describe("peer write path: the buffers of a batch", () => {
  it("passes a batch of one frame as it is, however large", () => {
    const only = frameOf(FRAME_JOIN_BYTES_MAX * 4);
    const buffers = batchBuffers([only]);
    expect(buffers).toHaveLength(1);
    expect(buffers[0]).toBe(only.bytes);
  });

  it("joins runs of small frames and passes large ones without a copy, in order", () => {
    const small = [frameOf(10, 1), frameOf(20, 2)];
    const large = frameOf(FRAME_JOIN_BYTES_MAX + 1, 3);
    const tail = [frameOf(FRAME_JOIN_BYTES_MAX, 4), frameOf(5, 5)];
    const batch = [...small, large, ...tail];
    const buffers = batchBuffers(batch);
    expect(buffers).toHaveLength(3);
    expect(buffers[1]).toBe(large.bytes);
    expect(sameBytes(joined(buffers), joined(bytesOf(batch)))).toBe(true);
  });

  it("keeps the bytes and their order for any batch", () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.nat({ max: 64 }), fc.integer({ min: FRAME_JOIN_BYTES_MAX - 2, max: FRAME_JOIN_BYTES_MAX + 2 })), { minLength: 1, maxLength: 8 }), (sizes) => {
      const batch = sizes.map((size, i) => frameOf(size, i + 1));
      expect(sameBytes(joined(batchBuffers(batch)), joined(bytesOf(batch)))).toBe(true);
    }), { numRuns: 100 });
  });

  it("writes several buffers corked and reports backpressure for the batch as a whole", () => {
    const calls: string[] = [];
    let buffered = 0;
    const socket = {
      cork: () => calls.push("cork"),
      uncork: () => calls.push("uncork"),
      write: (buffer: Uint8Array) => {
        calls.push(`write ${buffer.length}`);
        buffered += buffer.length;
        return buffered < 100;
      },
    } as unknown as net.Socket;
    expect(writeBatch(socket, [new Uint8Array(60), new Uint8Array(60), new Uint8Array(1)])).toBe(false);
    expect(calls).toEqual(["cork", "write 60", "write 60", "write 1", "uncork"]);
    calls.length = 0;
    buffered = 0;
    expect(writeBatch(socket, [new Uint8Array(5)])).toBe(true);
    expect(calls).toEqual(["write 5"]);
  });
});
