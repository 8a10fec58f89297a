import { afterEach, describe, expect, it } from "vitest";
import { KeyNotFoundError, createClient, type KvClient } from "../../src/client/index.js";
import { ByteWriter } from "../../src/codec/bytes.js";
import { createServer, type Server, type Socket } from "node:net";
import { CONTEXT_FLAG, FrameDecoder, RequestKind, decodeRequest, encodeResponse, type Request } from "../../src/protocol/index.js";
import { protocolEncodeError } from "../../src/protocol/errors.js";
import { VectorClockTracer, checkTrace, mergeLogs, parseEvents, parseMessageEvent, TRACEPARENT_CHARS_MAX, type RequestContext } from "../../src/trace/index.js";
import { ClientPortServer } from "../../src/server/client-port/index.js";
import { FakeKvService } from "../support/fake-kv-service.js";
import { RawClient, get, withServer } from "./raw-client.js";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A trace host writing to a string, as a --trace-log file would hold it. */
function tracerOf(host: string): { tracer: VectorClockTracer; log: () => string } {
  let text = "";
  return { tracer: new VectorClockTracer(host, (lines) => { text += lines; }), log: () => text };
}

/** A STATUS frame whose context's request id is `idBytes` long. */
function statusWithLongId(requestId: number, idBytes: number): Uint8Array {
  const writer = new ByteWriter(idBytes + 32, protocolEncodeError);
  writer.u32(0, "length");
  writer.u8(1);
  writer.u8(RequestKind.Status | CONTEXT_FLAG);
  writer.u32(requestId, "requestId");
  writer.string("i".repeat(idBytes));
  writer.u8(0);
  writer.patchU32(0, writer.position - 4);
  return writer.finish();
}

describe("client port: request contexts at the edge", () => {
  it("answers an oversized or malformed context with INVALID_ARGUMENT for that request, and the connection goes on", async () => {
    await withServer(new FakeKvService(), {}, async (port, _server, events) => {
      const client = await RawClient.connect(port);
      try {
        client.sendBytes(statusWithLongId(2, 3000));
        expect(await client.reply(2)).toMatchObject({ kind: "error", code: "INVALID_ARGUMENT", retryable: false, message: expect.stringMatching(/longer than 64/) });
        client.send({ ...get(3, "k"), context: { requestId: "fine-id" } });
        expect(await client.reply(3)).toMatchObject({ kind: "get-ok" });
        expect(client.closed).toBe(false);
        expect(events).toEqual([]);
      } finally {
        client.destroy();
      }
    });
  });

  it("answers a traceparent past its bound with INVALID_ARGUMENT naming the bound, without echoing it, and the connection goes on", async () => {
    await withServer(new FakeKvService(), {}, async (port) => {
      const client = await RawClient.connect(port);
      try {
        const writer = new ByteWriter(1024, protocolEncodeError);
        writer.u32(0, "length");
        writer.u8(1);
        writer.u8(RequestKind.Status | CONTEXT_FLAG);
        writer.u32(2, "requestId");
        writer.string("id");
        writer.u8(4);
        writer.string("7".repeat(TRACEPARENT_CHARS_MAX + 1));
        writer.patchU32(0, writer.position - 4);
        client.sendBytes(writer.finish());
        const refused = await client.reply(2);
        expect(refused).toMatchObject({ kind: "error", code: "INVALID_ARGUMENT", message: expect.stringContaining(`a traceparent must be 1..${TRACEPARENT_CHARS_MAX} characters`) });
        expect(refused.kind === "error" && refused.message.includes("7777")).toBe(false);
        client.send({ ...get(3, "k"), context: { requestId: "fine-id", traceparent: TRACEPARENT } });
        expect(await client.reply(3)).toMatchObject({ kind: "get-ok" });
      } finally {
        client.destroy();
      }
    });
  });

  it("a reply carries no stamp for a request without one (an old client never sees a flagged frame)", async () => {
    const server = tracerOf("member-1");
    await withServer(new FakeKvService(), { tracer: server.tracer }, async (port) => {
      const client = await RawClient.connect(port);
      try {
        client.send(get(2, "k"));
        const reply = await client.reply(2);
        expect(reply.kind).toBe("get-ok");
        expect(reply.stamp).toBeUndefined();
      } finally {
        client.destroy();
      }
    });
    // Traced as a local event on the member: no stamp came to merge.
    expect(server.log()).toMatch(/request get from=client/);
  });
});

describe("client library: request ids and traces (issue 18)", () => {
  async function tracedPair(): Promise<{ client: KvClient; clientLog: () => string; serverLog: () => string }> {
    const client = tracerOf("client-1");
    const server = tracerOf("member-1");
    const member = new ClientPortServer(new FakeKvService(), {
      port: 0, statusJson: () => ({ fake: true }), tracer: server.tracer, leadership: () => ({ memberId: 1, leaderId: 1 }),
    });
    const { port } = await member.start();
    cleanups.push(() => member.stop());
    const kv = createClient({ endpoints: [`127.0.0.1:${port}`], deadlineMs: 5000, tracer: client.tracer });
    cleanups.push(() => kv.close());
    return { client: kv, clientLog: client.log, serverLog: server.log };
  }

  it("each call is a send and its reply a receive; merged with the member's trace, every receive follows its send", async () => {
    const { client, clientLog, serverLog } = await tracedPair();
    await client.put("k", "v", { requestId: "my-put" });
    expect((await client.get("k"))?.value).toEqual(new TextEncoder().encode("v"));
    const events = parseEvents(mergeLogs([clientLog(), serverLog()]).split("\n").slice(2).join("\n"));
    expect(checkTrace(events)).toEqual([]);
    const messages = events.map((event) => ({ host: event.host, ...parseMessageEvent(event.event) }));
    const putSend = messages.find((m) => m.host === "client-1" && m.direction === "send" && m.kind === "put");
    expect(putSend).toMatchObject({ peer: "member-1", requestId: "my-put" });
    const putReceive = messages.find((m) => m.host === "member-1" && m.direction === "recv" && m.messageId === putSend?.messageId);
    expect(putReceive).toMatchObject({ kind: "write", peer: "client-1", requestId: "my-put" });
    const replySend = messages.find((m) => m.host === "member-1" && m.direction === "send" && m.kind === "reply" && m.requestId === "my-put");
    const replyReceive = messages.find((m) => m.host === "client-1" && m.direction === "recv" && m.messageId === replySend?.messageId);
    expect(replyReceive).toMatchObject({ kind: "reply", peer: "member-1", requestId: "my-put" });
    // The get got a request id made by the client: 16 hex characters, the same on both sides.
    const getSend = messages.find((m) => m.host === "client-1" && m.kind === "get");
    expect(getSend?.requestId).toMatch(/^[0-9a-f]{16}$/);
    expect(messages.some((m) => m.host === "member-1" && m.direction === "recv" && m.requestId === getSend?.requestId)).toBe(true);
  });

  it("the check catches a trace whose receive does not follow its send (planted: the member's clock set back)", async () => {
    const { client, clientLog, serverLog } = await tracedPair();
    await client.put("k", "v");
    const broken = serverLog().replace(/"client-1":\d+/g, '"client-1":0');
    const events = parseEvents(mergeLogs([clientLog(), broken]).split("\n").slice(2).join("\n"));
    expect(checkTrace(events).join("\n")).toMatch(/does not follow its send/);
  });

  it("errors name the call's request id; a bad request id is refused before anything is sent", async () => {
    const { client } = await tracedPair();
    const missing = await client.delete("absent", { requestId: "find-me-42" }).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(KeyNotFoundError);
    expect((missing as KeyNotFoundError).requestId).toBe("find-me-42");
    expect((missing as Error).message).toContain("find-me-42");
    await expect(client.get("k", { requestId: "has space" })).rejects.toThrow(/requestId: a request id must be printable/);
  });

  it("a call's traceparent and tracestate reach the member, which serves the call under them; a bad one is refused before anything is sent", async () => {
    const served: RequestContext[] = [];
    const member = new ClientPortServer(new FakeKvService(), {
      port: 0, statusJson: () => ({ fake: true }), leadership: () => ({ memberId: 1, leaderId: 1 }), onServed: ({ request }) => served.push(request),
    });
    const { port } = await member.start();
    cleanups.push(() => member.stop());
    const client = createClient({ endpoints: [`127.0.0.1:${port}`], deadlineMs: 5000 });
    cleanups.push(() => client.close());
    await client.put("k", "v", { requestId: "traced-put", traceparent: TRACEPARENT, tracestate: "vendor=1" });
    await client.get("k", { requestId: "traced-get", traceparent: TRACEPARENT });
    await client.get("k", { requestId: "plain-get" });
    // A write registers a session first (a call with an id of its own): only the three calls' lines are looked at.
    expect(served.filter((request) => request.requestId.includes("-"))).toEqual([
      { requestId: "traced-put", traceparent: TRACEPARENT, tracestate: "vendor=1" },
      { requestId: "traced-get", traceparent: TRACEPARENT },
      { requestId: "plain-get" },
    ]);
    const before = served.length;
    await expect(client.get("k", { traceparent: "00-XYZ-00f067aa0ba902b7-01" })).rejects.toThrow(/traceparent: not a W3C traceparent/);
    await expect(client.get("k", { traceparent: TRACEPARENT.toUpperCase() })).rejects.toThrow(/traceparent: not a W3C traceparent/);
    await expect(client.put("k", "v", { tracestate: "vendor=1" })).rejects.toThrow(/tracestate: goes only with a traceparent/);
    await expect(client.get("k", { traceparent: TRACEPARENT, tracestate: "s".repeat(513) })).rejects.toThrow(/tracestate: must be 1\.\.512/);
    expect(served.length).toBe(before);
  });
});

/**
 * A server as it was before request contexts, at the frame level: a frame whose kind has
 * the context flag is an unknown kind, answered PROTOCOL_ERROR in the old decoder's
 * words, then the connection is closed; other frames are served (HELLO, GET).
 */
async function oldServer(seen: Request[]): Promise<{ port: number; server: Server; refused: () => number }> {
  let refused = 0;
  const server = createServer((socket: Socket) => {
    const decoder = new FrameDecoder(1 << 20);
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
        if ((frame.kind & CONTEXT_FLAG) !== 0) {
          refused++;
          const kind = `0x${frame.kind.toString(16)}`;
          socket.end(encodeResponse({ kind: "error", requestId: frame.requestId, code: "PROTOCOL_ERROR", retryable: false, message: `cannot decode request kind ${kind} at byte 0: unknown request kind ${kind}: closing the connection` }));
          return;
        }
        const request = decodeRequest(frame);
        seen.push(request);
        if (request.kind === "hello") socket.write(encodeResponse({ kind: "hello-ok", requestId: request.requestId, serverVersion: "old", memberId: 1, leader: { leaderId: 1 }, frameBytesMax: 1 << 20, inFlightMax: 16 }));
        else socket.write(encodeResponse({ kind: "get-ok", requestId: request.requestId, revision: 3 }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, server, refused: () => refused };
}

describe("client library against a server from before request contexts", () => {
  it("its flagged HELLO is refused once, it connects again without contexts, and its calls work", async () => {
    const seen: Request[] = [];
    const old = await oldServer(seen);
    cleanups.push(() => new Promise((resolve) => { old.server.close(() => resolve()); }));
    const kv = createClient({ endpoints: [`127.0.0.1:${old.port}`], deadlineMs: 5000 });
    cleanups.push(() => kv.close());
    expect(await kv.get("k")).toBeUndefined();
    expect(await kv.get("k2", { requestId: "not-sent" })).toBeUndefined();
    expect(old.refused()).toBe(1);
    expect(seen.map((r) => r.kind)).toEqual(["hello", "get", "get"]);
    expect(seen.every((r) => r.context === undefined)).toBe(true);
  });
});
