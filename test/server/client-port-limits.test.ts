import { describe, expect, it } from "vitest";
import { RawClient, utf8, waitUntil, withServer } from "../client/raw-client.js";
import { RawClient as MemcachedClient, withServer as withMemcached } from "../memcached/helpers.js";
import { validateClientPortOptions } from "../../src/server/client-port/index.js";
import { validateMemcachedOptions } from "../../src/server/memcached/index.js";
import { validateClientLimits } from "../../src/server/client-limits.js";
import { FakeKvService } from "../support/fake-kv-service.js";

/** A frame header announcing `frameBytes` in all (length field included), version 1, kind 0, request id 0. */
function frameHeader(frameBytes: number): Uint8Array {
  const header = new Uint8Array(10);
  new DataView(header.buffer).setUint32(0, frameBytes - 4);
  header[4] = 1;
  return header;
}

const MIB = 1024 * 1024;

/** Limits on a binary client connection before and after its HELLO (issue 15). */
describe("client port: handshake deadline, bytes before HELLO, idle connections", () => {
  it("closes a connection that sends no HELLO within handshakeTimeoutMs, saying why", async () => {
    await withServer(new FakeKvService(), { handshakeTimeoutMs: 100 }, async (port, _server, events) => {
      const silent = await RawClient.connect(port, false);
      const startedMs = Date.now();
      await silent.waitClosed();
      expect(Date.now() - startedMs).toBeLessThan(5000);
      expect(silent.responses).toEqual([expect.objectContaining({ kind: "error", code: "PROTOCOL_ERROR", message: expect.stringMatching(/no HELLO within 100 ms \(handshakeTimeoutMs\)/) })]);
      expect(events.map((e) => e.type)).toEqual(["protocol-error"]);
      // A client that says HELLO in time keeps its connection past the deadline.
      const prompt = await RawClient.connect(port);
      await waitUntil("twice the handshake deadline", () => Date.now() - startedMs > 300);
      prompt.send({ kind: "status", requestId: 2 });
      expect(await prompt.reply(2)).toMatchObject({ kind: "status-ok" });
      prompt.destroy();
    });
  });

  it("refuses a 1 MiB frame before HELLO as soon as its first bytes arrive, without waiting to buffer it", async () => {
    // frameBytesMax stays at its default (4 MiB): before HELLO only handshakeBytesMax (4 KiB) is accepted.
    await withServer(new FakeKvService(), {}, async (port) => {
      const flood = await RawClient.connect(port, false);
      // The header and 64 KiB of the announced 1 MiB: the rest never comes.
      flood.sendBytes(frameHeader(MIB));
      flood.sendBytes(new Uint8Array(64 * 1024));
      await flood.waitClosed();
      expect(flood.responses.at(-1)).toMatchObject({ kind: "error", code: "PROTOCOL_ERROR", message: expect.stringMatching(/before HELLO, more than handshakeBytesMax \(4096\)/) });
    });
  });

  it("after HELLO a frame may be as large as frameBytesMax", async () => {
    await withServer(new FakeKvService(), {}, async (port) => {
      const client = await RawClient.connect(port);
      const value = new Uint8Array(512 * 1024).fill(120);
      client.send({ kind: "write", requestId: 2, command: { type: "put", key: utf8("big"), value } });
      expect(await client.reply(2)).toMatchObject({ kind: "write-ok" });
      client.destroy();
    });
  });

  it("closes a connection idle for idleTimeoutMs, but not one with an open watch", async () => {
    await withServer(new FakeKvService(), { idleTimeoutMs: 100 }, async (port) => {
      const idle = await RawClient.connect(port);
      const watching = await RawClient.connect(port);
      watching.send({ kind: "watch", requestId: 2, prefix: utf8(""), fromRevision: 0 });
      await idle.waitClosed();
      expect(idle.responses.at(-1)).toMatchObject({ kind: "error", code: "PROTOCOL_ERROR", retryable: true, message: expect.stringMatching(/no request for 100 ms \(idleTimeoutMs\)/) });
      // The watcher sent nothing since either, and stays: a watch stream is not idle.
      expect(watching.closed).toBe(false);
      watching.send({ kind: "status", requestId: 3 });
      expect(await watching.reply(3)).toMatchObject({ kind: "status-ok" });
      watching.destroy();
    });
  });

  it("memcached: closes a connection idle for idleTimeoutMs", async () => {
    await withMemcached(new FakeKvService(), { idleTimeoutMs: 100 }, async (port) => {
      const idle = await MemcachedClient.connect(port);
      idle.send("version\r\n");
      expect(await idle.readUntil((text) => text.endsWith("\r\n"))).toMatch(/^VERSION /);
      await idle.closed;
    });
  });

  it("every limit is validated with its bounds, naming the option or the flag", () => {
    const statusJson = () => ({});
    expect(() => validateClientPortOptions({ statusJson, connectionsPerAddressMax: 0 })).toThrow(/connectionsPerAddressMax must be an integer in \[1, 1000000\], got 0/);
    expect(() => validateClientPortOptions({ statusJson, handshakeTimeoutMs: 5 })).toThrow(/handshakeTimeoutMs must be an integer in \[10, 600000\]/);
    expect(() => validateClientPortOptions({ statusJson, handshakeBytesMax: 100 })).toThrow(/handshakeBytesMax must be an integer in \[256, 1048576\]/);
    expect(() => validateClientPortOptions({ statusJson, idleTimeoutMs: 1.5 })).toThrow(/idleTimeoutMs must be an integer/);
    expect(() => validateMemcachedOptions({ idleTimeoutMs: 0 })).toThrow(/idleTimeoutMs must be an integer in \[10,/);
    expect(() => validateMemcachedOptions({ connectionsPerAddressMax: 2_000_000 })).toThrow(/connectionsPerAddressMax/);
    expect(validateClientLimits()).toMatchObject({ connectionsMax: 1024, connectionsPerAddressMax: 256, idleTimeoutMs: 300_000, handshakeTimeoutMs: 10_000, handshakeBytesMax: 4096, httpHeadersTimeoutMs: 10_000 });
    expect(() => validateClientLimits({ connectionsPerAddressMax: 0 })).toThrow(/--connections-per-address-max must be a whole number in \[1, 1000000\], got 0/);
    expect(() => validateClientLimits({ httpHeaderBytesMax: 10 })).toThrow(/--http-header-bytes-max/);
    expect(() => validateClientLimits({ httpHeadersTimeoutMs: 20_000, httpRequestTimeoutMs: 10_000 })).toThrow(/--http-headers-timeout-ms \(20000\) must not be above --http-request-timeout-ms/);
    expect(() => validateClientLimits({ idleTimeoutMs: -1 })).toThrow(/--client-idle-timeout-ms/);
  });
});
