import { afterEach, describe, expect, it } from "vitest";
import type { Message } from "../../src/raft/messages.js";
import { Cleanup, startCluster, waitFor } from "./net-helpers.js";
import { heartbeat, sampleMessages } from "./messages.js";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Messages in a stable order, so that sets of them compare equal whatever the lanes did. */
const sorted = (messages: readonly Message[]): Message[] =>
  [...messages].sort((a, b) => a.from - b.from || a.type.localeCompare(b.type));

describe("transport on loopback", () => {
  it("carries every message type both ways between two members, every field intact", async () => {
    const [a, b] = await startCluster(cleanup, 2);
    if (a === undefined || b === undefined) throw new Error("cluster of 2 expected");
    for (const m of sampleMessages(1, 2)) a.transport.send(m);
    for (const m of sampleMessages(2, 1)) b.transport.send(m);
    await waitFor("13 messages at each side", () => a.messages.length === 13 && b.messages.length === 13);
    expect(sorted(b.messages)).toStrictEqual(sorted(sampleMessages(1, 2)));
    expect(sorted(a.messages)).toStrictEqual(sorted(sampleMessages(2, 1)));
  });

  it("keeps the send order of everything but snapshot chunks", async () => {
    const [a, b] = await startCluster(cleanup, 2);
    if (a === undefined || b === undefined) throw new Error("cluster of 2 expected");
    const sent = sampleMessages(1, 2).filter((m) => m.type !== "Snap");
    for (const m of sent) a.transport.send(m);
    await waitFor("all messages", () => b.messages.length === sent.length);
    expect(b.messages).toStrictEqual(sent);
  });

  it("connects each ordered pair of three members once, and every member hears every other", async () => {
    const nodes = await startCluster(cleanup, 3);
    for (const node of nodes) {
      for (const other of nodes) if (other !== node) for (const m of sampleMessages(node.id, other.id)) node.transport.send(m);
    }
    await waitFor("26 messages at every member", () => nodes.every((node) => node.messages.length === 26));
    for (const node of nodes) {
      const expected = nodes.filter((other) => other !== node).flatMap((other) => sampleMessages(other.id, node.id));
      expect(sorted(node.messages)).toStrictEqual(sorted(expected));
      const connected = node.eventsOf("connected");
      expect(connected.filter((e) => e.direction === "outbound").map((e) => e.peerId).sort()).toStrictEqual(
        nodes.filter((other) => other !== node).map((other) => other.id));
      expect(connected.filter((e) => e.direction === "inbound")).toHaveLength(2);
      expect(node.eventsOf("error")).toStrictEqual([]);
    }
  });

  it("batches many messages sent in one run into few writes and counts them in stats", async () => {
    const [a, b] = await startCluster(cleanup, 2);
    if (a === undefined || b === undefined) throw new Error("cluster of 2 expected");
    a.transport.send(heartbeat(1, 2, 0));
    await waitFor("the connection", () => a.transport.stats().get(2)?.connected === true && b.messages.length === 1);
    for (let i = 1; i <= 500; i++) a.transport.send({ type: "AppResp", from: 1, to: 2, term: 1, session: 1, reject: false, index: i, hintIndex: 0, hintTerm: 0, nonVoting: false });
    await waitFor("501 messages", () => b.messages.length === 501);
    const sent = a.transport.stats().get(2);
    const received = b.transport.stats().get(1);
    expect(sent).toMatchObject({ connected: true, sentMessages: 501, dropped: 0, queuedMessages: 0, queuedBytes: 0, reconnects: 0 });
    // One write for the first heartbeat, then a few for the 500 responses sent in one run.
    expect(sent?.writes).toBeLessThanOrEqual(5);
    expect(received).toMatchObject({ inboundConnected: true, receivedMessages: 501, receivedBytes: sent?.sentBytes });
    expect(b.messages.map((m) => (m.type === "AppResp" ? m.index : 0))).toStrictEqual(Array.from({ length: 501 }, (_, i) => i));
  });

  it("drops a message to an unknown member with an event, without throwing", async () => {
    const [a] = await startCluster(cleanup, 2);
    if (a === undefined) throw new Error("cluster of 2 expected");
    a.transport.send(heartbeat(1, 9, 0));
    expect(a.eventsOf("dropped")).toMatchObject([{ peerId: 9, reason: "unknown-peer", messageType: "Heartbeat" }]);
  });

  it("drops a message larger than frameBytesMax instead of sending what the peer would refuse", async () => {
    const [a, b] = await startCluster(cleanup, 2, { frameBytesMax: 4096 });
    if (a === undefined || b === undefined) throw new Error("cluster of 2 expected");
    const big = sampleMessages(1, 2).find((m) => m.type === "Snap") as Message; // 3000 data bytes fit
    a.transport.send({ ...big, data: new Uint8Array(5000) } as Message);
    a.transport.send(big);
    await waitFor("the chunk that fits", () => b.messages.length === 1);
    expect(a.eventsOf("dropped")).toMatchObject([{ peerId: 2, reason: "frame-too-large", messageType: "Snap", droppedTotal: 1 }]);
    expect(b.messages).toStrictEqual([big]);
  });
});
