import { describe, expect, it } from "vitest";
import { ByteWriter } from "../../src/codec/bytes.js";
import {
  CONTEXT_FLAG,
  FrameDecoder,
  ON_BEHALF_OF_CHARS_MAX,
  ProtocolEncodeError,
  RequestContextError,
  RequestKind,
  ResponseKind,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type Request,
} from "../../src/protocol/index.js";
import { protocolEncodeError } from "../../src/protocol/errors.js";
import { TRACEPARENT_CHARS_MAX, TRACESTATE_CHARS_MAX } from "../../src/trace/index.js";

const stamp = { messageId: "client-7#3", clock: { "client-7": 3, "member-1": 5 } };
const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function decodeOne(bytes: Uint8Array) {
  const decoder = new FrameDecoder(1024 * 1024);
  decoder.push(bytes);
  const frame = decoder.next();
  if (frame === undefined) throw new Error("no whole frame");
  return frame;
}

/** A GET frame whose context is written by hand: `writeContext` fills the bytes between the header and the key. */
function getFrameWithContext(writeContext: (writer: ByteWriter) => void): Uint8Array {
  const writer = new ByteWriter(64, protocolEncodeError);
  writer.u32(0, "length");
  writer.u8(1);
  writer.u8(RequestKind.Get | CONTEXT_FLAG);
  writer.u32(42, "requestId");
  writeContext(writer);
  writer.bytes(new TextEncoder().encode("k"), "key");
  writer.u8(0);
  writer.patchU32(0, writer.position - 4);
  return writer.finish();
}

describe("client protocol: the request context (request id and trace stamp, issue 18)", () => {
  it("no request or response kind uses the context flag bit (else a kind would read as another with a context)", () => {
    for (const kind of [...Object.values(RequestKind), ...Object.values(ResponseKind)]) expect(kind & CONTEXT_FLAG, `kind 0x${kind.toString(16)}`).toBe(0);
  });

  it("a request without a context is byte for byte what an old client sends: no flag, no extra bytes", () => {
    const request: Request = { kind: "get", requestId: 5, key: new Uint8Array([1, 2]), consistency: "follower" };
    const bytes = encodeRequest(request);
    expect(bytes[5]).toBe(RequestKind.Get);
    expect(decodeRequest(decodeOne(bytes))).toEqual(request);
    const withContext = encodeRequest({ ...request, context: { requestId: "abc" } });
    expect(withContext[5]).toBe(RequestKind.Get | CONTEXT_FLAG);
    expect(withContext.length).toBe(bytes.length + 1 + 3 + 1);
  });

  it("round-trips a context with and without a stamp, on every kind of request", () => {
    const requests: Request[] = [
      { kind: "get", requestId: 2, key: new Uint8Array([9]), consistency: "linearizable", context: { requestId: "r-1" } },
      { kind: "write", requestId: 3, command: { type: "put", key: new Uint8Array([1]), value: new Uint8Array([2]) }, context: { requestId: "0123456789abcdef", stamp } },
      { kind: "status", requestId: 4, context: { requestId: "x".repeat(64), stamp } },
      { kind: "register-session", requestId: 5, context: { requestId: "s" } },
      // A member forwarding for a caller (issue 17), with and without a stamp.
      { kind: "write", requestId: 6, command: { type: "delete", key: new Uint8Array([1]) }, context: { requestId: "f", onBehalfOf: "read-write token alice" } },
      { kind: "get", requestId: 7, key: new Uint8Array([1]), consistency: "linearizable", context: { requestId: "g", stamp, onBehalfOf: "read-only certificate kvraft%20client" } },
      // A caller's W3C trace context, alone, with a tracestate, and with everything else.
      { kind: "get", requestId: 8, key: new Uint8Array([1]), consistency: "linearizable", context: { requestId: "t", traceparent } },
      { kind: "write", requestId: 9, command: { type: "delete", key: new Uint8Array([1]) }, context: { requestId: "t", traceparent, tracestate: "vendor=1,other=x y" } },
      { kind: "status", requestId: 10, context: { requestId: "t", stamp, onBehalfOf: "read-write token alice", traceparent, tracestate: "s".repeat(TRACESTATE_CHARS_MAX) } },
    ];
    for (const request of requests) expect(decodeRequest(decodeOne(encodeRequest(request)))).toEqual(request);
  });

  it("round-trips a reply's stamp; a reply without one has no flag", () => {
    const reply = { kind: "session-ok", requestId: 3, sessionId: 8, stamp } as const;
    const bytes = encodeResponse(reply);
    expect(bytes[5]).toBe(ResponseKind.SessionOk | CONTEXT_FLAG);
    expect(decodeResponse(decodeOne(bytes))).toEqual(reply);
    expect(encodeResponse({ kind: "session-ok", requestId: 3, sessionId: 8 })[5]).toBe(ResponseKind.SessionOk);
  });

  it("refuses a request id that is too long, empty or not printable, and a bad stamp, naming the frame's request id", () => {
    const cases: [string, (writer: ByteWriter) => void][] = [
      ["too long", (w) => { w.string("x".repeat(65)); w.u8(0); }],
      ["empty", (w) => { w.string(""); w.u8(0); }],
      ["a space", (w) => { w.string("two words"); w.u8(0); }],
      ["not JSON stamp", (w) => { w.string("id"); w.u8(1); w.string("{nope"); }],
      ["stamp without a message id", (w) => { w.string("id"); w.u8(1); w.string(JSON.stringify({ c: { a: 1 } })); }],
      ["oversized stamp", (w) => { w.string("id"); w.u8(1); w.string(JSON.stringify({ m: "a#1", c: { a: 1 }, pad: "p".repeat(9000) })); }],
      ["length past the frame", (w) => { w.varint(500); }],
      // The same value spelled otherwise: taken, it would re-encode to other bytes.
      ["non-canonical stamp", (w) => { w.string("id"); w.u8(1); w.string('{"m":"a#1","c":{"a":1e0}}'); }],
      ["stamp with spaces", (w) => { w.string("id"); w.u8(1); w.string('{"m": "a#1", "c": {"a": 1}}'); }],
      ["unknown context flag", (w) => { w.string("id"); w.u8(16); }],
      ["empty caller", (w) => { w.string("id"); w.u8(2); w.string(""); }],
      ["caller too long", (w) => { w.string("id"); w.u8(2); w.string("c".repeat(ON_BEHALF_OF_CHARS_MAX + 1)); }],
      ["traceparent too long", (w) => { w.string("id"); w.u8(4); w.string("0".repeat(TRACEPARENT_CHARS_MAX + 1)); }],
      ["empty traceparent", (w) => { w.string("id"); w.u8(4); w.string(""); }],
      ["tracestate too long", (w) => { w.string("id"); w.u8(12); w.string(traceparent); w.string("s".repeat(TRACESTATE_CHARS_MAX + 1)); }],
      ["tracestate without a traceparent", (w) => { w.string("id"); w.u8(8); w.string("vendor=1"); }],
      ["traceparent past the frame", (w) => { w.string("id"); w.u8(4); w.varint(300); }],
    ];
    for (const [what, write] of cases) {
      const frame = decodeOne(getFrameWithContext(write));
      let thrown: unknown;
      try {
        decodeRequest(frame);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, what).toBeInstanceOf(RequestContextError);
      expect((thrown as RequestContextError).requestId, what).toBe(42);
    }
  });

  it("the same hand-written frame with a valid context decodes (so the refusals above are the context's fault)", () => {
    const frame = decodeOne(getFrameWithContext((w) => { w.string("ok-id"); w.u8(0); }));
    expect(decodeRequest(frame)).toMatchObject({ kind: "get", requestId: 42, context: { requestId: "ok-id" } });
    const named = decodeOne(getFrameWithContext((w) => { w.string("ok-id"); w.u8(2); w.string("c".repeat(ON_BEHALF_OF_CHARS_MAX)); }));
    expect(decodeRequest(named)).toMatchObject({ context: { requestId: "ok-id", onBehalfOf: "c".repeat(ON_BEHALF_OF_CHARS_MAX) } });
    // Bounded but not W3C: the codec keeps it as sent (so the frame re-encodes to its bytes); the server drops it (requestContextOf).
    const traced = decodeOne(getFrameWithContext((w) => { w.string("ok-id"); w.u8(12); w.string("p".repeat(TRACEPARENT_CHARS_MAX)); w.string("vendor=1"); }));
    expect(decodeRequest(traced)).toMatchObject({ context: { requestId: "ok-id", traceparent: "p".repeat(TRACEPARENT_CHARS_MAX), tracestate: "vendor=1" } });
  });

  it("refuses to encode a tracestate without a traceparent, or a trace context past its bounds", () => {
    const get = (context: Request["context"]): Request => ({ kind: "get", requestId: 1, key: new Uint8Array([1]), consistency: "linearizable", ...(context === undefined ? {} : { context }) });
    for (const context of [
      { requestId: "t", tracestate: "vendor=1" },
      { requestId: "t", traceparent: "" },
      { requestId: "t", traceparent: "p".repeat(TRACEPARENT_CHARS_MAX + 1) },
      { requestId: "t", traceparent, tracestate: "s".repeat(TRACESTATE_CHARS_MAX + 1) },
    ]) expect(() => encodeRequest(get(context)), JSON.stringify(context).slice(0, 80)).toThrow(ProtocolEncodeError);
  });
});
