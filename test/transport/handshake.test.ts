import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  decodeRefuse, encodeFrame, encodeHello, FrameDecoder, FrameTooLargeError, FrameType, MESSAGE_CODEC_VERSION, TcpTransport,
  TransportListenError, TransportStateError,
} from "../../src/transport/index.js";
import { Cleanup, CLUSTER_ID, HOST, startNode, waitFor } from "./net-helpers.js";
import { heartbeat } from "./messages.js";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A raw client socket to `port`, closed after the test; collects what the server sends. */
async function rawClient(port: number): Promise<{ socket: net.Socket; received: Buffer[]; closed: () => boolean }> {
  const socket = net.connect(port, HOST);
  const received: Buffer[] = [];
  let closed = false;
  socket.on("data", (chunk: Buffer) => received.push(chunk));
  socket.on("error", () => undefined);
  socket.on("close", () => {
    closed = true;
  });
  cleanup.add(() => {
    socket.destroy();
  });
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return { socket, received, closed: () => closed };
}

describe("handshake", () => {
  it("refuses a peer of another cluster: both sides see the refusal, no message is delivered", async () => {
    const b = await startNode(cleanup, { selfId: 2, clusterId: "cluster-b" });
    const a = await startNode(cleanup, { selfId: 1, clusterId: "cluster-a", peers: [{ id: 2, host: HOST, port: b.port }] });
    a.transport.send(heartbeat(1, 2, 0));
    await waitFor("refusals on both sides", () => a.eventsOf("refused").length > 0 && b.eventsOf("refused").length > 0);
    expect(b.eventsOf("refused")[0]).toMatchObject({ direction: "inbound", peerId: 1, code: "cluster-mismatch" });
    expect(b.eventsOf("refused")[0]?.reason).toContain('"cluster-a"');
    expect(a.eventsOf("refused")[0]).toMatchObject({ direction: "outbound", peerId: 2, code: "cluster-mismatch" });
    expect(b.messages).toStrictEqual([]);
    expect(a.transport.stats().get(2)).toMatchObject({ connected: false, sentMessages: 0 });
    expect(b.eventsOf("connected")).toStrictEqual([]);
  });

  it("refuses a caller that dialled the wrong member (a stale address)", async () => {
    const b = await startNode(cleanup, { selfId: 2 });
    const a = await startNode(cleanup, { selfId: 1, peers: [{ id: 3, host: HOST, port: b.port }] });
    a.transport.send(heartbeat(1, 3, 0));
    await waitFor("the refusal", () => a.eventsOf("refused").length > 0);
    expect(a.eventsOf("refused")[0]).toMatchObject({ peerId: 3, code: "wrong-member" });
    expect(a.eventsOf("refused")[0]?.reason).toContain("this is member 2, not member 3");
    expect(b.messages).toStrictEqual([]);
  });

  it("answers a bad HELLO with REFUSE and closes: unknown version, own id", async () => {
    const b = await startNode(cleanup, { selfId: 2 });
    const cases = [
      { hello: { protocolVersion: MESSAGE_CODEC_VERSION + 1, clusterId: CLUSTER_ID, fromId: 1, toId: 2, advertise: {} }, code: "unsupported-version" },
      { hello: { protocolVersion: MESSAGE_CODEC_VERSION, clusterId: CLUSTER_ID, fromId: 2, toId: 2, advertise: {} }, code: "invalid-member" },
    ];
    for (const { hello, code } of cases) {
      const client = await rawClient(b.port);
      client.socket.write(encodeHello(hello));
      await waitFor(`${code}: the server closes`, client.closed);
      const decoder = new FrameDecoder(1024);
      decoder.push(Buffer.concat(client.received));
      const frame = decoder.next();
      expect(frame?.type).toBe(FrameType.Refuse);
      expect(decodeRefuse(frame?.payload ?? new Uint8Array()).code).toBe(code);
    }
    expect(b.eventsOf("refused").map((e) => e.code)).toStrictEqual(["unsupported-version", "invalid-member"]);
  });

  it("closes a connection whose first frame announces more than the handshake limit, before buffering it", async () => {
    const b = await startNode(cleanup, { selfId: 2 });
    const client = await rawClient(b.port);
    client.socket.write(Uint8Array.of(0, 0x10, 0, 0, 1, FrameType.Hello)); // a 1 MiB "HELLO"
    await waitFor("the server closes", client.closed);
    const error = b.eventsOf("error")[0];
    expect(error).toMatchObject({ stage: "handshake" });
    expect(error?.error).toBeInstanceOf(FrameTooLargeError);
  });

  it("closes an accepted connection that sends a frame over frameBytesMax", async () => {
    const b = await startNode(cleanup, { selfId: 2, frameBytesMax: 4096 });
    const client = await rawClient(b.port);
    client.socket.write(encodeHello({ protocolVersion: MESSAGE_CODEC_VERSION, clusterId: CLUSTER_ID, fromId: 1, toId: 2, advertise: {} }));
    client.socket.write(encodeFrame(FrameType.Raft, new Uint8Array(5000)));
    await waitFor("the server closes", client.closed);
    expect(b.eventsOf("error")[0]).toMatchObject({ stage: "decode", peerId: 1 });
    expect(b.eventsOf("disconnected")).toMatchObject([{ peerId: 1, direction: "inbound" }]);
  });

  it("closes a caller that sends no HELLO within connectTimeoutMs", async () => {
    const b = await startNode(cleanup, { selfId: 2, connectTimeoutMs: 100 });
    const client = await rawClient(b.port);
    await waitFor("the server closes", client.closed);
    expect(b.eventsOf("error")[0]?.error.message).toContain("no HELLO");
  });

  it("closes the older inbound connection of a member that dials again (it was dead or dying)", async () => {
    const b = await startNode(cleanup, { selfId: 2 });
    const hello = encodeHello({ protocolVersion: MESSAGE_CODEC_VERSION, clusterId: CLUSTER_ID, fromId: 1, toId: 2, advertise: {} });
    const first = await rawClient(b.port);
    first.socket.write(hello);
    await waitFor("the first handshake", () => b.eventsOf("connected").length === 1);
    const second = await rawClient(b.port);
    second.socket.write(hello);
    await waitFor("the first connection closed", first.closed);
    expect(second.closed()).toBe(false);
    expect(b.transport.stats().get(1)).toMatchObject({ inboundConnected: true });
  });

  it("rejects start() on a taken port with a TransportListenError naming host:port", async () => {
    const a = await startNode(cleanup, { selfId: 1 });
    const b = new TcpTransport({ selfId: 2, clusterId: CLUSTER_ID, listenHost: HOST, listenPort: a.port }, { onMessage: () => undefined });
    cleanup.add(() => b.stop());
    const failure = await b.start().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TransportListenError);
    expect(failure).toMatchObject({ host: HOST, port: a.port, code: "EADDRINUSE" });
    expect(String((failure as Error).message)).toContain(`${HOST}:${a.port}`);
  });

  it("refuses to start twice", async () => {
    const a = await startNode(cleanup, { selfId: 1 });
    await expect(a.transport.start()).rejects.toBeInstanceOf(TransportStateError);
  });
});
