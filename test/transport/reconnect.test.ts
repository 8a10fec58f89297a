import { afterEach, describe, expect, it } from "vitest";
import { Cleanup, HOST, reservePort, startNode, startProxy, waitFor } from "./net-helpers.js";
import { heartbeat } from "./messages.js";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe("reconnect", () => {
  it("dials a peer that starts later, backing off between failed dials, and delivers what waited", async () => {
    const port = await reservePort();
    const a = await startNode(cleanup, { selfId: 1, peers: [{ id: 2, host: HOST, port }], reconnectDelayMsMin: 10, reconnectDelayMsMax: 80 });
    a.transport.send(heartbeat(1, 2, 7));
    await waitFor("four failed dials", () => a.eventsOf("error").length >= 4);
    const delays = a.eventsOf("error").map((e) => e.retryDelayMs ?? -1);
    expect(a.eventsOf("error").every((e) => e.stage === "connect" && e.peerId === 2)).toBe(true);
    // Equal jitter: each wait is in [cap/2, cap], and the cap doubles from 10 ms up to 80 ms.
    for (const [i, cap] of [10, 20, 40, 80].entries()) {
      expect(delays[i]).toBeGreaterThanOrEqual(cap / 2);
      expect(delays[i]).toBeLessThanOrEqual(cap);
    }
    expect(a.transport.stats().get(2)).toMatchObject({ connected: false, queuedMessages: 1 });

    const b = await startNode(cleanup, { selfId: 2, listenPort: port });
    await waitFor("the waiting heartbeat", () => b.messages.length === 1);
    expect(b.messages).toStrictEqual([heartbeat(1, 2, 7)]);
    expect(a.transport.stats().get(2)).toMatchObject({ connected: true, queuedMessages: 0, dropped: 0 });
    expect(a.transport.stats().get(2)?.reconnects).toBeGreaterThanOrEqual(4);
  });

  it("redials after the connection is killed and delivers later messages", async () => {
    const b = await startNode(cleanup, { selfId: 2 });
    const proxy = await startProxy(cleanup, b.port);
    const a = await startNode(cleanup, { selfId: 1, peers: [{ id: 2, host: HOST, port: proxy.port }] });
    a.transport.send(heartbeat(1, 2, 1));
    await waitFor("the first heartbeat", () => b.messages.length === 1);

    proxy.cut();
    await waitFor("both sides notice", () =>
      a.eventsOf("disconnected").length === 1 && b.eventsOf("disconnected").length === 1);
    expect(a.eventsOf("disconnected")[0]).toMatchObject({ peerId: 2, direction: "outbound" });
    expect(b.eventsOf("disconnected")[0]).toMatchObject({ peerId: 1, direction: "inbound" });

    a.transport.send(heartbeat(1, 2, 2));
    a.transport.send(heartbeat(1, 2, 3, 2));
    await waitFor("the later heartbeats", () => b.messages.length === 3);
    expect(b.messages.slice(1)).toStrictEqual([heartbeat(1, 2, 2), heartbeat(1, 2, 3, 2)]);
    expect(a.transport.stats().get(2)).toMatchObject({ connected: true, reconnects: 1 });
    expect(a.eventsOf("connected")).toHaveLength(2);
  });

  it("follows a peer to a new address and forgets a removed one", async () => {
    const b = await startNode(cleanup, { selfId: 2 });
    const proxy = await startProxy(cleanup, b.port);
    const a = await startNode(cleanup, { selfId: 1, peers: [{ id: 2, host: HOST, port: proxy.port }] });
    a.transport.send(heartbeat(1, 2, 1));
    await waitFor("a message through the proxy", () => b.messages.length === 1 && proxy.connections() === 1);

    a.transport.setPeers([{ id: 2, host: HOST, port: b.port }]);
    a.transport.send(heartbeat(1, 2, 2));
    await waitFor("a message on the new address", () => b.messages.length === 2);
    await waitFor("the old connection closed", () => proxy.connections() === 0);

    a.transport.setPeers([]);
    expect(a.transport.stats().has(2)).toBe(false);
    a.transport.send(heartbeat(1, 2, 3));
    expect(a.eventsOf("dropped")).toMatchObject([{ peerId: 2, reason: "unknown-peer" }]);
    await waitFor("b sees the connection go", () => b.eventsOf("disconnected").length === 2);
    expect(b.messages).toHaveLength(2);
  });
});
