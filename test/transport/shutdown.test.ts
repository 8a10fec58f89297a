import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { TcpTransport } from "../../src/transport/index.js";
import { Cleanup, CLUSTER_ID, HOST, reservePort, startCluster, startNode, startStallingPeer, waitFor } from "./net-helpers.js";
import { heartbeat, sampleMessages, snapshotChunk } from "./messages.js";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Handles that keep a Node process alive, by kind: what a clean stop must give back. */
function liveHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === "TCPSocketWrap" || kind === "TCPServerWrap" || kind === "Timeout") counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

/** Whether no kind of handle outnumbers its count in `before` (the runner may hold a few of its own). */
function noMoreHandlesThan(before: Record<string, number>): boolean {
  const now = liveHandles();
  return Object.entries(now).every(([kind, count]) => count <= (before[kind] ?? 0));
}

describe("stop", () => {
  it("closes every socket, listener and timer it opened, in every state a link can be in", async () => {
    const before = liveHandles();
    const own = new Cleanup();
    try {
      // Open connections both ways between three members.
      const nodes = await startCluster(own, 3);
      for (const node of nodes) for (const other of nodes) if (other !== node) node.transport.send(heartbeat(node.id, other.id, 0));
      await waitFor("every pair connected", () => nodes.every((node) => node.messages.length === 2));
      // A link backing off from a dead address, and one waiting for 'drain' with its stall timer.
      const deadPort = await reservePort();
      const stalling = await startStallingPeer(own, 5);
      const lonely = await startNode(own, { selfId: 4, peers: [{ id: 9, host: HOST, port: deadPort }, { id: 5, host: HOST, port: stalling.port }] });
      lonely.transport.send(heartbeat(4, 9, 0));
      for (let i = 0; i < 32; i++) lonely.transport.send(snapshotChunk(4, 5, i * 1024 * 1024, 1024 * 1024));
      await waitFor("a failed dial and a stalled write", () =>
        lonely.eventsOf("error").length > 0 && (lonely.transport.stats().get(5)?.queuedMessages ?? 0) > 0 && stalling.stalled());
      // An inbound connection that never says HELLO.
      const silent = net.connect(nodes[0]?.port ?? 0, HOST);
      silent.on("error", () => undefined);
      await new Promise<void>((resolve) => silent.once("connect", () => resolve()));

      const stops = [...nodes, lonely].map((node) => node.transport.stop());
      await Promise.all(stops);
      await waitFor("the raw client sees its connection closed", () => silent.destroyed || silent.readableEnded);
      silent.destroy();
    } finally {
      await own.run();
    }
    await waitFor("the raw client socket to close", () => noMoreHandlesThan(before));
  });

  it("is idempotent, works before start, and makes send a no-op", async () => {
    const never = new TcpTransport({ selfId: 1, clusterId: CLUSTER_ID }, { onMessage: () => undefined });
    await never.stop();
    await never.stop();

    const [a, b] = await startCluster(cleanup, 2);
    if (a === undefined || b === undefined) throw new Error("cluster of 2 expected");
    await a.transport.stop();
    const eventsAtStop = a.events.length;
    for (const m of sampleMessages(1, 2)) a.transport.send(m);
    await a.transport.stop();
    expect(a.events.length).toBe(eventsAtStop);
    expect(b.messages).toStrictEqual([]);
  });

  it("stops while a dial is in progress without leaving it to complete later", async () => {
    const before = liveHandles();
    const own = new Cleanup();
    try {
      const b = await startNode(own, { selfId: 2 });
      const a = await startNode(own, { selfId: 1, peers: [{ id: 2, host: HOST, port: b.port }] });
      a.transport.send(heartbeat(1, 2, 0));
      await a.transport.stop(); // synchronously after send: the socket is still connecting
      await b.transport.stop();
      expect(b.messages).toStrictEqual([]);
      expect(a.transport.stats().get(2)).toMatchObject({ connected: false, sentMessages: 0 });
    } finally {
      await own.run();
    }
    // A closed listener leaves Node's handle list in the loop's close phase, just after 'close'.
    await waitFor("no handle left", () => noMoreHandlesThan(before));
  });

  it("closes the listener of a start() still in progress", async () => {
    const before = liveHandles();
    const transport = new TcpTransport({ selfId: 1, clusterId: CLUSTER_ID, listenHost: HOST }, { onMessage: () => undefined });
    const started = transport.start();
    await transport.stop();
    expect((await started).port).toBeGreaterThan(0);
    await waitFor("no handle left", () => noMoreHandlesThan(before));
  });
});
