import { afterEach, describe, expect, it } from "vitest";
import type { Message } from "../../src/raft/messages.js";
import type { PeerStats } from "../../src/transport/index.js";
import { Cleanup, HOST, startNode, startStallingPeer, type TestNode, waitFor } from "./net-helpers.js";
import { append, heartbeat, snapshotChunk } from "./messages.js";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Lets socket IO run between sends (one event-loop turn; no timer involved). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** At most this many sends, so a host with huge socket buffers fails the test instead of eating memory. */
const SENDS_MAX = 2_000;

function statsOf(node: TestNode, peerId: number): PeerStats {
  const stats = node.transport.stats().get(peerId);
  if (stats === undefined) throw new Error(`no stats for member ${peerId}`);
  return stats;
}

describe("backpressure", () => {
  it("keeps the queue of a peer that stops reading within its limits, and counts what it drops", async () => {
    const peer = await startStallingPeer(cleanup, 2);
    const limits = { queueBytesMax: 256 * 1024, queueMessagesMax: 1_000, frameBytesMax: 128 * 1024, writeBatchBytesMax: 64 * 1024 };
    const a = await startNode(cleanup, { selfId: 1, peers: [{ id: 2, host: HOST, port: peer.port }], ...limits });
    a.transport.send(append(1, 2, 1, 100));
    await waitFor("the handshake", () => peer.stalled() && statsOf(a, 2).connected);

    // Fill the socket and kernel buffers until the queue overflows, then keep sending.
    let sent = 1;
    let sendsAfterFirstDrop = 0;
    while (sendsAfterFirstDrop < 200) {
      if (sent >= SENDS_MAX) throw new Error(`no drop after ${SENDS_MAX} sends of 64 KiB`);
      a.transport.send(append(1, 2, ++sent, 64 * 1024));
      if (statsOf(a, 2).dropped > 0) sendsAfterFirstDrop++;
      const stats = statsOf(a, 2);
      expect(stats.queuedBytes).toBeLessThanOrEqual(limits.queueBytesMax);
      expect(stats.queuedMessages).toBeLessThanOrEqual(limits.queueMessagesMax);
      if (sent % 4 === 0) await nextTurn();
    }
    const stalled = statsOf(a, 2);
    expect(stalled.sentMessages + stalled.dropped + stalled.queuedMessages).toBe(sent);
    expect(a.eventsOf("dropped")).toHaveLength(stalled.dropped);
    expect(a.eventsOf("dropped").every((e) => e.reason === "queue-full" && e.messageType === "App")).toBe(true);

    // Once the peer reads again, it gets every message handed to the socket, oldest first.
    peer.resume();
    await waitFor("the queue to drain", () => statsOf(a, 2).queuedMessages === 0);
    const final = statsOf(a, 2);
    await waitFor("every message written to arrive", () => peer.messages.length === final.sentMessages);
    const indexes = peer.messages.map((m) => (m.type === "App" ? (m.entries[0]?.index ?? 0) : 0));
    expect(indexes).toStrictEqual([...indexes].sort((x, y) => x - y));
    expect(new Set(indexes).size).toBe(indexes.length);
  });

  it("writes heartbeats, votes and appends queued behind snapshot chunks first", async () => {
    const peer = await startStallingPeer(cleanup, 2);
    const a = await startNode(cleanup, { selfId: 1, peers: [{ id: 2, host: HOST, port: peer.port }] });
    a.transport.send(heartbeat(1, 2, 0));
    await waitFor("the handshake", () => peer.stalled() && statsOf(a, 2).connected);

    // Send 1 MiB chunks until some wait in the queue: the socket is waiting for 'drain'.
    let chunks = 0;
    while (statsOf(a, 2).queuedMessages < 4) {
      if (chunks >= SENDS_MAX / 10) throw new Error(`the socket took ${chunks} MiB without pushing back`);
      a.transport.send(snapshotChunk(1, 2, chunks++ * 1024 * 1024, 1024 * 1024));
      await nextTurn();
    }
    const chunksWaiting = statsOf(a, 2).queuedMessages;
    const urgent: Message[] = [
      heartbeat(1, 2, 1),
      { type: "Vote", from: 1, to: 2, term: 2, lastIndex: 5, lastTerm: 1, transfer: false },
      append(1, 2, 6, 10, 2),
    ];
    for (const m of urgent) a.transport.send(m);

    peer.resume();
    await waitFor("every message", () => peer.messages.length === 1 + chunks + urgent.length);
    const firstUrgent = peer.messages.findIndex((m) => m.type === "Vote");
    expect(peer.messages.slice(firstUrgent - 1, firstUrgent + 2)).toStrictEqual(urgent);
    const chunksAfter = peer.messages.slice(firstUrgent).filter((m) => m.type === "Snap").length;
    expect(chunksAfter).toBe(chunksWaiting);
    const offsets = peer.messages.flatMap((m) => (m.type === "Snap" ? [m.offset] : []));
    expect(offsets).toStrictEqual(offsets.map((_, i) => i * 1024 * 1024));
  });
});
