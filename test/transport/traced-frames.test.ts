import * as net from "node:net";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { Message } from "../../src/raft/messages.js";
import type { TraceStamp } from "../../src/trace/index.js";
import { ByteWriter } from "../../src/codec/bytes.js";
import { stampToText, VectorClockTracer } from "../../src/trace/index.js";
import {
  decodeRaftFrame, encodeHello, encodeMessage, encodeRaftFrame, encodeTracedRaftFrame, type Frame, FrameDecoder, FrameType,
  MESSAGE_CODEC_VERSION, TcpTransport, TransportDecodeError, type TransportEvent,
} from "../../src/transport/index.js";
import { anyMessage, heartbeat, sampleMessages } from "./messages.js";
import { Cleanup, CLUSTER_ID, HOST, waitFor } from "./net-helpers.js";

/** The one frame `bytes` holds, as a receiver's decoder cuts it. */
function onlyFrame(bytes: Uint8Array): Frame {
  const decoder = new FrameDecoder(1 << 20);
  decoder.push(bytes);
  const frame = decoder.next();
  if (frame === undefined) throw new Error("no whole frame in the bytes");
  expect(decoder.next()).toBeUndefined();
  return frame;
}

/** A TRACED_RAFT frame whose stamp field holds `stampText` as it is, valid or not. */
function tracedFrameWithStampText(stampText: string, message = sampleMessages(1, 2)[0]): Uint8Array {
  if (message === undefined) throw new Error("no sample message");
  const writer = new ByteWriter(64, (field) => new Error(field));
  writer.u32(0, "length");
  writer.u8(1);
  writer.u8(FrameType.TracedRaft);
  writer.string(stampText, "stamp");
  writer.raw(encodeMessage(message));
  const bytes = writer.finish();
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(0, bytes.length - 4);
  return bytes;
}

const stampOf = (host: string) => new VectorClockTracer(host, () => undefined).send({ kind: "App", to: "member-2" });

describe("TRACED_RAFT frames (a Raft message with its sender's trace stamp)", () => {
  it("carry any message and its stamp through the frame decoder unchanged", () => {
    fc.assert(fc.property(anyMessage(), (message) => {
      const stamp = stampOf("member-1");
      const decoded = decodeRaftFrame(onlyFrame(encodeTracedRaftFrame(message, stamp)));
      expect(decoded.message).toStrictEqual(message);
      expect(decoded.stamp).toStrictEqual(stamp);
    }), { numRuns: 200 });
  });

  it("leave the untraced wire as it was: a RAFT frame decodes with no stamp", () => {
    for (const message of sampleMessages(1, 2)) {
      const frame = onlyFrame(encodeRaftFrame(message));
      expect(frame.type).toBe(FrameType.Raft);
      expect(decodeRaftFrame(frame)).toStrictEqual({ message, stamp: undefined });
    }
  });

  it.each([
    ["not JSON", "{m:"],
    ["a message id that is not HOST#n", JSON.stringify({ m: "member-1", c: { "member-1": 1 } })],
    ["a clock with a negative count", JSON.stringify({ m: "member-1#1", c: { "member-1": -1 } })],
    ["a stamp past STAMP_TEXT_CHARS_MAX", JSON.stringify({ m: "member-1#1", c: { "member-1": 1, pad: "x".repeat(9000) } })],
  ])("drop a bad stamp (%s) and still deliver the message", (_what, stampText) => {
    const message = sampleMessages(1, 2)[0];
    const decoded = decodeRaftFrame(onlyFrame(tracedFrameWithStampText(stampText, message)));
    expect(decoded.message).toStrictEqual(message);
    expect(decoded.stamp).toBeUndefined();
  });

  it("read a valid stamp written the same way (the bad-stamp cases differ only in the stamp)", () => {
    const stamp = stampOf("member-1");
    expect(decodeRaftFrame(onlyFrame(tracedFrameWithStampText(stampToText(stamp)))).stamp).toStrictEqual(stamp);
  });

  it.each([
    ["a stamp length past the payload", Uint8Array.of(0x7f, 1, 2)],
    ["a valid stamp and no message", new TextEncoder().encode(`\x0b{"m":"a#1"}`)],
  ])("refuse malformed bytes (%s) with TransportDecodeError, the error that closes the connection", (_what, payload) => {
    const frame: Frame = { type: FrameType.TracedRaft, payload, frameBytes: payload.length + 6 };
    expect(() => decodeRaftFrame(frame)).toThrow(TransportDecodeError);
  });
});

describe("TRACED_RAFT frames between live transports", () => {
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  /** A transport that records each message with the stamp it came with. */
  async function receiver(selfId: number): Promise<{ port: number; received: { message: Message; stamp: TraceStamp | undefined }[]; events: TransportEvent[] }> {
    const received: { message: Message; stamp: TraceStamp | undefined }[] = [];
    const events: TransportEvent[] = [];
    const transport = new TcpTransport(
      { selfId, clusterId: CLUSTER_ID, listenHost: HOST, listenPort: 0 },
      { onMessage: (message, stamp) => received.push({ message, stamp }), onEvent: (event) => events.push(event) },
    );
    cleanup.add(() => transport.stop());
    return { port: (await transport.start()).port, received, events };
  }

  it("hand the receiver the sender's stamp, and no stamp for an untraced send", async () => {
    const b = await receiver(2);
    const a = new TcpTransport({ selfId: 1, clusterId: CLUSTER_ID, listenHost: HOST, listenPort: 0, peers: [{ id: 2, host: HOST, port: b.port }] }, { onMessage: () => undefined });
    cleanup.add(() => a.stop());
    const stamp = stampOf("member-1");
    a.send(heartbeat(1, 2, 1), stamp);
    a.send(heartbeat(1, 2, 2, 2));
    await waitFor("both messages", () => b.received.length === 2);
    expect(b.received).toStrictEqual([{ message: heartbeat(1, 2, 1), stamp }, { message: heartbeat(1, 2, 2, 2), stamp: undefined }]);
  });

  it("deliver a message whose stamp is bad and keep the connection: tracing never costs a message", async () => {
    const b = await receiver(2);
    const socket = net.connect(b.port, HOST);
    socket.on("error", () => undefined);
    cleanup.add(() => { socket.destroy(); });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(encodeHello({ protocolVersion: MESSAGE_CODEC_VERSION, clusterId: CLUSTER_ID, fromId: 1, toId: 2, advertise: {} }));
    socket.write(tracedFrameWithStampText("{not a stamp", heartbeat(1, 2, 1)));
    socket.write(encodeRaftFrame(heartbeat(1, 2, 2)));
    await waitFor("both messages", () => b.received.length === 2);
    expect(b.received).toStrictEqual([{ message: heartbeat(1, 2, 1), stamp: undefined }, { message: heartbeat(1, 2, 2), stamp: undefined }]);
    expect(b.events.filter((e) => e.type === "error" || e.type === "disconnected")).toStrictEqual([]);
  });
});
