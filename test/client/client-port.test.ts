import { describe, expect, it } from "vitest";
import { FakeKvService, gate } from "../support/fake-kv-service.js";
import { RawClient, get, put, text, utf8, waitUntil, withClient, withServer } from "./raw-client.js";

describe("client port: pipelining", () => {
  it("runs many requests at once on one connection and answers each by its id", async () => {
    const service = new FakeKvService();
    const held = gate();
    service.gate = held.promise;
    await withClient(service, {}, async (client) => {
      client.send(...Array.from({ length: 50 }, (_, i) => put(100 + i, `k${i}`, `v${i}`)));
      // All 50 reached the service before any was answered: they are in flight together.
      await waitUntil("50 writes in the service", () => service.calls.length === 50);
      held.open();
      for (let i = 0; i < 50; i++) expect(await client.reply(100 + i)).toMatchObject({ kind: "write-ok", result: { ok: true, kind: "stored" } });
      client.send(...Array.from({ length: 50 }, (_, i) => get(200 + i, `k${i}`)));
      for (let i = 0; i < 50; i++) {
        const reply = await client.reply(200 + i);
        expect(reply.kind === "get-ok" ? text(reply.kv?.value) : reply.kind).toBe(`v${i}`);
      }
    });
  });

  it("answers out of order when a later request finishes first", async () => {
    const service = new FakeKvService();
    await withClient(service, {}, async (client) => {
      const held = gate();
      service.gate = held.promise;
      client.send(get(10, "slow"));
      await waitUntil("the slow read in the service", () => service.calls.length === 1);
      service.gate = undefined;
      client.send({ kind: "status", requestId: 11 });
      await client.reply(11);
      expect(client.responses.map((r) => r.requestId)).toEqual([1, 11]);
      held.open();
      await client.reply(10);
      expect(client.responses.map((r) => r.requestId)).toEqual([1, 11, 10]);
    });
  });

  it("a read waits for the writes sent before it on the connection, so a pipelining client reads its own writes", async () => {
    const service = new FakeKvService();
    await withClient(service, {}, async (client) => {
      const held = gate();
      service.gate = held.promise;
      client.send(put(2, "a", "1"), get(3, "a"));
      await waitUntil("the write in the service", () => service.calls.includes("write"));
      expect(service.calls).toEqual(["write"]);
      service.gate = undefined;
      held.open();
      expect(await client.reply(3)).toMatchObject({ kind: "get-ok", kv: { value: utf8("1") } });
    });
  });
});

describe("client port: limits", () => {
  it("answers BUSY at once beyond inFlightPerConnectionMax, and runs the rest", async () => {
    const service = new FakeKvService();
    const held = gate();
    service.gate = held.promise;
    await withClient(service, { inFlightPerConnectionMax: 4 }, async (client) => {
      client.send(...Array.from({ length: 6 }, (_, i) => put(10 + i, `k${i}`, "v")));
      expect(await client.reply(14)).toMatchObject({ kind: "busy", message: expect.stringMatching(/inFlightPerConnectionMax/) });
      expect(await client.reply(15)).toMatchObject({ kind: "busy" });
      held.open();
      for (let i = 0; i < 4; i++) expect(await client.reply(10 + i)).toMatchObject({ kind: "write-ok" });
      expect(service.writes).toHaveLength(4);
    });
  });

  it("stops reading a connection whose replies are not read, and reads again once they drain", async () => {
    const service = new FakeKvService();
    const value = "x".repeat(60_000);
    await withServer(service, { frameBytesMax: 128 * 1024, outputBufferBytesMax: 128 * 1024, inFlightPerConnectionMax: 10_000 }, async (port, server) => {
      const writer = await RawClient.connect(port);
      writer.send(put(2, "big", value));
      await writer.reply(2);
      writer.destroy();
      const client = await RawClient.connect(port);
      try {
        client.socket.pause();
        const first = 300;
        client.send(...Array.from({ length: first }, (_, i) => get(10 + i, "big")));
        await waitUntil("the server to stop reading", () => server.stats().connectionsPaused === 1);
        // From here on, every request the server starts must have been read after it resumed reading.
        const pausedWhenStarted: number[] = [];
        service.onCall = () => pausedWhenStarted.push(server.stats().connectionsPaused);
        const second = 100;
        client.send(...Array.from({ length: second }, (_, i) => get(10 + first + i, "big")));
        client.socket.resume();
        await waitUntil("every reply", () => client.responses.length === first + second + 1, 30_000);
        expect(pausedWhenStarted).toEqual(Array.from({ length: second }, () => 0));
        expect(client.responses.every((r) => r.kind === "get-ok" || r.kind === "hello-ok")).toBe(true);
      } finally {
        client.destroy();
      }
    });
  });

  it("answers a connection beyond connectionsMax with an error and closes it", async () => {
    await withServer(new FakeKvService(), { connectionsMax: 1 }, async (port, server, events) => {
      const first = await RawClient.connect(port);
      const second = await RawClient.connect(port, false);
      try {
        await second.waitClosed();
        expect(second.responses).toEqual([expect.objectContaining({ kind: "error", requestId: 0, message: expect.stringMatching(/connectionsMax/) })]);
        expect(server.stats().connectionsRejected).toBe(1);
        expect(events.map((e) => e.type)).toEqual(["connection-rejected"]);
      } finally {
        first.destroy();
        second.destroy();
      }
    });
  });

  it("cuts a list page to fit one frame and continues exactly after the last key sent", async () => {
    const service = new FakeKvService();
    await withClient(service, { frameBytesMax: 8192, outputBufferBytesMax: 8192 }, async (client) => {
      for (let i = 0; i < 10; i++) client.send(put(10 + i, `p/${i}`, "v".repeat(1500)));
      await client.reply(19);
      const keys: string[] = [];
      let after: Uint8Array | undefined;
      for (let page = 0; page < 10; page++) {
        const requestId = 100 + page;
        client.send({ kind: "list", requestId, prefix: utf8("p/"), limit: 100, consistency: "linearizable", ...(after === undefined ? {} : { after }) });
        const reply = await client.reply(requestId);
        if (reply.kind !== "list-ok") throw new Error(`expected list-ok, got ${JSON.stringify(reply)}`);
        expect(reply.entries.length).toBeLessThan(6);
        keys.push(...reply.entries.map((e) => text(e.key) as string));
        after = reply.nextAfter;
        if (after === undefined) break;
      }
      expect(keys).toEqual(Array.from({ length: 10 }, (_, i) => `p/${i}`));
    });
  });
});

describe("client port: leadership", () => {
  it("answers REDIRECT with the leader's client address when the service throws NotLeaderError", async () => {
    const service = new FakeKvService();
    service.notLeader = { leader: { leaderId: 2, clientAddress: "10.0.0.2:7100", httpAddress: "10.0.0.2:8080" } };
    await withClient(service, {}, async (client) => {
      client.send(put(2, "k", "v"), { kind: "register-session", requestId: 3 });
      expect(await client.reply(2)).toEqual({ kind: "redirect", requestId: 2, leader: { leaderId: 2, clientAddress: "10.0.0.2:7100" } });
      expect(await client.reply(3)).toMatchObject({ kind: "redirect", leader: { leaderId: 2 } });
      service.notLeader = { leader: undefined };
      client.send(get(4, "k"));
      expect(await client.reply(4)).toMatchObject({ kind: "error", code: "NOT_LEADER", retryable: true });
    });
  });

  it("redirects before the service on a follower, unless the client asked to be forwarded (session registrations included)", async () => {
    const service = new FakeKvService();
    const leadership = () => ({ memberId: 1, leaderId: 3, leaderClientAddress: "127.0.0.1:9003" });
    await withServer(service, { leadership }, async (port) => {
      const plain = await RawClient.connect(port);
      const forwarded = await RawClient.connect(port, true, true);
      try {
        expect(plain.responses[0]).toMatchObject({ kind: "hello-ok", memberId: 1, leader: { leaderId: 3, clientAddress: "127.0.0.1:9003" } });
        plain.send(put(2, "k", "v"), { kind: "get", requestId: 3, key: utf8("k"), consistency: "serializable" });
        expect(await plain.reply(2)).toMatchObject({ kind: "redirect", leader: { leaderId: 3 } });
        expect(await plain.reply(3)).toMatchObject({ kind: "get-ok" });
        expect(service.calls).toEqual(["get"]);
        forwarded.send(put(2, "k", "v"), { kind: "register-session", requestId: 3 });
        expect(await forwarded.reply(2)).toMatchObject({ kind: "write-ok" });
        // The service forwards a registration like a write (issue 17), so a client that reaches only followers gets sessions.
        expect(await forwarded.reply(3)).toMatchObject({ kind: "session-ok" });
        expect(service.calls).toEqual(["get", "write", "register-session"]);
      } finally {
        plain.destroy();
        forwarded.destroy();
      }
    });
  });
});
