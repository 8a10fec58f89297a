import { describe, expect, it } from "vitest";
import { encodeRequest } from "../../src/protocol/index.js";
import { BusyError, CompactedError } from "../../src/server/errors.js";
import { FakeKvService } from "../support/fake-kv-service.js";
import { RawClient, get, put, text, utf8, waitUntil, withClient, withServer } from "./raw-client.js";

describe("client port: errors", () => {
  it("maps service errors to BUSY, ERROR with the service's code, and INTERNAL (reported as an event)", async () => {
    const service = new FakeKvService();
    await withClient(service, {}, async (client, _server, events) => {
      service.failNext(new BusyError("too many proposals"));
      client.send(put(2, "k", "v"));
      expect(await client.reply(2)).toMatchObject({ kind: "busy", message: "too many proposals" });
      service.failNext(new CompactedError(40, "compacted"));
      client.send({ kind: "watch", requestId: 3, prefix: utf8(""), fromRevision: 1 });
      expect(await client.reply(3)).toMatchObject({ kind: "error", code: "COMPACTED", compactRevision: 40, retryable: false });
      service.failNext(new TypeError("a bug"));
      client.send(get(4, "k"));
      expect(await client.reply(4)).toMatchObject({ kind: "error", code: "INTERNAL", retryable: false });
      expect(events.map((e) => e.type)).toEqual(["internal-error"]);
      client.send({ kind: "list", requestId: 5, prefix: utf8(""), limit: 0, consistency: "linearizable" });
      expect(await client.reply(5)).toMatchObject({ kind: "error", code: "INVALID_ARGUMENT" });
    });
  });

  it("a write's version mismatch is an answer (WRITE_OK with the failure), not an error", async () => {
    await withClient(new FakeKvService(), {}, async (client) => {
      client.send({ kind: "write", requestId: 2, command: { type: "put", key: utf8("k"), value: utf8("v"), expectVersion: 7 } });
      expect(await client.reply(2)).toMatchObject({ kind: "write-ok", result: { ok: false, error: "version-mismatch", currentVersion: 0 } });
    });
  });
});

describe("client port: garbage", () => {
  it("answers PROTOCOL_ERROR to bytes that are not frames, closes the connection, and keeps serving others", async () => {
    await withServer(new FakeKvService(), {}, async (port, _server, events) => {
      const bad = await RawClient.connect(port);
      bad.sendBytes(new Uint8Array([0, 0, 0, 8, 7, 7, 7, 7, 7, 7, 7, 7]));
      await bad.waitClosed();
      expect(bad.responses.at(-1)).toMatchObject({ kind: "error", code: "PROTOCOL_ERROR", retryable: false, message: expect.stringMatching(/version 7/) });
      expect(events.map((e) => e.type)).toEqual(["protocol-error"]);
      const good = await RawClient.connect(port);
      good.send({ kind: "status", requestId: 2 });
      expect(await good.reply(2)).toEqual({ kind: "status-ok", requestId: 2, json: '{"fake":true}' });
      good.destroy();
    });
  });

  it("closes a connection that announces a frame over frameBytesMax, or sends a request before HELLO", async () => {
    await withServer(new FakeKvService(), { frameBytesMax: 4096, outputBufferBytesMax: 4096 }, async (port) => {
      const huge = await RawClient.connect(port);
      huge.sendBytes(new Uint8Array([0x7f, 0xff, 0xff, 0xff]));
      await huge.waitClosed();
      expect(huge.responses.at(-1)).toMatchObject({ kind: "error", requestId: 0, code: "PROTOCOL_ERROR", message: expect.stringMatching(/frameBytesMax/) });
      const early = await RawClient.connect(port, false);
      early.sendBytes(encodeRequest({ kind: "status", requestId: 9 }));
      await early.waitClosed();
      expect(early.responses).toEqual([expect.objectContaining({ kind: "error", requestId: 9, message: expect.stringMatching(/HELLO/) })]);
    });
  });

  it("survives random bytes on many connections", async () => {
    await withServer(new FakeKvService(), {}, async (port, server) => {
      let seed = 7;
      const random = (): number => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed;
      };
      for (let c = 0; c < 20; c++) {
        const client = await RawClient.connect(port, c % 2 === 0);
        client.sendBytes(Uint8Array.from({ length: 64 + (random() % 512) }, () => random() % 256));
        client.socket.end();
        await client.waitClosed();
      }
      const good = await RawClient.connect(port);
      good.send({ kind: "status", requestId: 2 });
      expect(await good.reply(2)).toMatchObject({ kind: "status-ok" });
      good.destroy();
      await waitUntil("every connection released", () => server.stats().connectionsCurrent === 0);
    });
  });
});

describe("client port: watch", () => {
  it("streams events for the watch's id until CANCEL, then WATCH_END and CANCEL_OK", async () => {
    const service = new FakeKvService();
    await withClient(service, {}, async (client) => {
      client.send({ kind: "watch", requestId: 5, prefix: utf8("w/"), fromRevision: 1 });
      await waitUntil("the watch in the service", () => service.calls.includes("watch"));
      client.send(put(6, "w/a", "1"), put(7, "other", "x"), put(8, "w/b", "2"));
      await client.reply(8);
      await waitUntil("two events", () => client.responses.filter((r) => r.kind === "watch-events").flatMap((r) => (r.kind === "watch-events" ? r.events : [])).length === 2);
      const events = client.responses.flatMap((r) => (r.kind === "watch-events" && r.requestId === 5 ? r.events : []));
      expect(events.map((e) => (e.type === "put" ? `${text(e.key)}=${text(e.value)}@${e.revision}` : e.type))).toEqual(["w/a=1@1", "w/b=2@3"]);
      client.send({ kind: "cancel", requestId: 9, targetRequestId: 5 });
      await client.reply(9);
      const tail = client.responses.slice(-2).map((r) => `${r.kind}:${r.requestId}`);
      expect(tail).toEqual(["watch-end:5", "cancel-ok:9"]);
    });
  });

  it("serves a watch on a follower instead of redirecting it: events are committed entries, the same on every member", async () => {
    const service = new FakeKvService();
    await withClient(service, { leadership: () => ({ memberId: 1, leaderId: 2 }) }, async (client) => {
      await service.write({ type: "put", key: utf8("w/x"), value: utf8("1") });
      client.send({ kind: "watch", requestId: 5, prefix: utf8("w/"), fromRevision: 1 });
      expect(await client.reply(5)).toMatchObject({ kind: "watch-events", nextRevision: 2 });
    });
  });
});
