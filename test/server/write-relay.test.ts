import { describe, expect, it } from "vitest";
import type { WriteCommand } from "../../src/kv/index.js";
import { BinaryForwarder, type RelayOutcome } from "../../src/server/forwarding.js";
import { NotLeaderError, UnavailableError } from "../../src/server/errors.js";
import {
  CONTEXT_FLAG, FrameDecoder, ResponseKind, decodeRequest, decodeResponse, encodeRelayedRequest, encodeRequest, encodeResponse, reframeResponse,
  type Frame, type Request,
} from "../../src/protocol/index.js";
import type { RequestContext } from "../../src/trace/index.js";
import { RawClient, utf8, waitUntil, withServer } from "../client/raw-client.js";
import { FakeKvService } from "../support/fake-kv-service.js";
import { forwarderTo } from "../support/forwarder.js";
import { NO_SCOPE } from "../../src/server/request-scope.js";

/**
 * Issue 17: a follower relays its forwarding clients' writes to the leader as frames:
 * the command's bytes are copied, not decoded and encoded again, and the leader's
 * WRITE_OK goes back to the client as a frame under the client's request id. Anything
 * else the leader answers, or a lost connection, becomes the error the service's
 * forwarding path would throw, and a write the relay cannot take goes that path.
 */
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const put = (key: string, value: string): WriteCommand => ({ type: "put", key: utf8(key), value: utf8(value) });

/** A request as the client port has it when it relays: a whole frame. */
function frameOf(request: Request): Frame {
  const decoder = new FrameDecoder(1024 * 1024);
  decoder.push(encodeRequest(request));
  return decoder.next() as Frame;
}


/** Relays `request`'s frame; answers whether the relay took it and the outcome once it comes. */
function relay(forwarder: BinaryForwarder, request: Request, scope: RequestContext | undefined = undefined): { cancel: (() => void) | undefined; outcome: Promise<RelayOutcome> } {
  let cancel: (() => void) | undefined;
  const outcome = new Promise<RelayOutcome>((resolve) => {
    cancel = forwarder.relayWrite(frameOf(request), { request: scope, caller: undefined }, resolve);
  });
  return { cancel, outcome };
}

describe("the relay codec", () => {
  it("sends a request on under a new id and context with its payload byte for byte, and a reply back under the client's id without the leader's stamp", () => {
    const write: Request = { kind: "write", requestId: 7, command: put("k", "v"), context: { requestId: "client-id", traceparent: TRACEPARENT } };
    const relayed = encodeRelayedRequest(frameOf(write), 42, { requestId: "client-id", onBehalfOf: "read-write token alice" });
    expect(decodeRequest(frameOfBytes(relayed))).toEqual({
      kind: "write", requestId: 42, command: put("k", "v"), context: { requestId: "client-id", onBehalfOf: "read-write token alice" },
    });
    const bare = encodeRelayedRequest(frameOf({ kind: "write", requestId: 3, command: put("k", "v") }), 9, { requestId: "made-here" });
    expect(decodeRequest(frameOfBytes(bare))).toEqual({ kind: "write", requestId: 9, command: put("k", "v"), context: { requestId: "made-here" } });

    const result = { ok: true, kind: "session-closed", revision: 5 } as const;
    const stamped = frameOfBytes(encodeResponse({ kind: "write-ok", requestId: 42, result, stamp: { messageId: "member-1#3", clock: { "member-1": 3 } } }));
    expect(stamped.kind & CONTEXT_FLAG).toBe(CONTEXT_FLAG);
    const back = frameOfBytes(reframeResponse(stamped, 7));
    expect(back.kind).toBe(ResponseKind.WriteOk);
    expect(decodeResponse(back)).toEqual({ kind: "write-ok", requestId: 7, result });
  });
});

describe("a relayed frame whose context is the client's request id alone", () => {
  const write: Request = { kind: "write", requestId: 7, command: put("k", "v"), context: { requestId: "client-id" } };

  it("goes on as the client's bytes with only the frame's request id changed", () => {
    const client = encodeRequest(write);
    const relayed = encodeRelayedRequest(frameOf(write), 0x01020304, { requestId: "client-id" });
    expect(relayed.length).toBe(client.length);
    expect([...relayed.subarray(6, 10)]).toEqual([1, 2, 3, 4]);
    expect(relayed.subarray(10)).toEqual(client.subarray(10));
    expect(relayed.subarray(0, 6)).toEqual(client.subarray(0, 6));
    expect(decodeRequest(frameOfBytes(relayed))).toEqual({ ...write, requestId: 0x01020304 });
  });

  it("is written anew when the context to send differs from the frame's: another id, a caller, a trace context", () => {
    const contexts = [{ requestId: "client-ie" }, { requestId: "client-id", onBehalfOf: "read-write token alice" }, { requestId: "client-id", traceparent: TRACEPARENT }];
    for (const context of contexts) {
      expect(decodeRequest(frameOfBytes(encodeRelayedRequest(frameOf(write), 9, context)))).toEqual({ ...write, requestId: 9, context });
    }
    const traced = { ...write, context: { requestId: "client-id", traceparent: TRACEPARENT } };
    expect(decodeRequest(frameOfBytes(encodeRelayedRequest(frameOf(traced), 9, { requestId: "client-id" })))).toEqual({ ...write, requestId: 9 });
  });
});

describe("relayed frames in pooled memory", () => {
  it("write every byte they take: made in memory full of old bytes, they equal frames made in fresh memory", () => {
    const dirty = (bytes: number): Uint8Array => new Uint8Array(bytes).fill(0xa5);
    const write: Request = { kind: "write", requestId: 7, command: put("k", "v"), context: { requestId: "client-id" } };
    expect(encodeRelayedRequest(frameOf(write), 9, { requestId: "client-id" }, dirty)).toEqual(encodeRelayedRequest(frameOf(write), 9, { requestId: "client-id" }));
    const reply = frameOfBytes(encodeResponse({ kind: "write-ok", requestId: 9, result: { ok: true, kind: "session-closed", revision: 5 } }));
    expect(reframeResponse(reply, 7, dirty)).toEqual(reframeResponse(reply, 7));
  });
});

describe("a request decoded with views", () => {
  it("decodes as with copies, its key and value viewing the frame (checked, not kept)", () => {
    const frame = frameOf({ kind: "write", requestId: 7, command: put("key", "value"), context: { requestId: "client-id" } });
    const viewed = decodeRequest(frame, "views");
    const copied = decodeRequest(frame);
    expect(viewed).toEqual(copied);
    if (viewed.kind !== "write" || viewed.command.type !== "put" || copied.kind !== "write" || copied.command.type !== "put") throw new Error("not a put");
    expect(viewed.command.value.buffer).toBe(frame.payload.buffer);
    expect(copied.command.value.buffer).not.toBe(frame.payload.buffer);
  });
});

function frameOfBytes(bytes: Uint8Array): Frame {
  const decoder = new FrameDecoder(1024 * 1024);
  decoder.push(bytes);
  return decoder.next() as Frame;
}

describe("a follower's write relay", () => {
  it("takes nothing until the connection to the leader is open; then the leader serves the frame under the client's id and trace context", async () => {
    const leader = new FakeKvService();
    const served: { request: RequestContext; kind: string }[] = [];
    await withServer(leader, { onServed: (request) => served.push(request) }, async (port) => {
      const forwarder = forwarderTo(port);
      try {
        expect(relay(forwarder, { kind: "write", requestId: 5, command: put("k", "v") }).cancel, "no connection yet: the service's path dials").toBeUndefined();
        await forwarder.write(put("k0", "v"), 5000, NO_SCOPE);
        const scope = { requestId: "client-7", traceparent: TRACEPARENT };
        const { cancel, outcome } = relay(forwarder, { kind: "write", requestId: 5, command: put("k", "v"), context: scope }, scope);
        expect(cancel).toBeTypeOf("function");
        const answered = await outcome;
        if (!("writeOk" in answered)) throw answered.error;
        expect(decodeResponse(frameOfBytes(reframeResponse(answered.writeOk, 5)))).toMatchObject({ kind: "write-ok", requestId: 5, result: { ok: true } });
        expect(leader.writes.map((w) => w.type === "put" && new TextDecoder().decode(w.key))).toEqual(["k0", "k"]);
        expect(served[1]).toMatchObject({ request: scope, kind: "write" });
      } finally {
        forwarder.close();
      }
    });
  });

  it("a leader that lost its term answers the NotLeaderError the service's path throws, and a lost connection a retryable UnavailableError", async () => {
    const leader = new FakeKvService();
    let forwarder: BinaryForwarder | undefined;
    let held: Promise<RelayOutcome> | undefined;
    await withServer(leader, {}, async (port) => {
      forwarder = forwarderTo(port);
      await forwarder.write(put("k0", "v"), 5000, NO_SCOPE);
      leader.notLeader = { leader: { leaderId: 3, clientAddress: "127.0.0.1:1" } };
      const redirected = await relay(forwarder, { kind: "write", requestId: 5, command: put("k", "v") }).outcome;
      expect("error" in redirected && redirected.error).toBeInstanceOf(NotLeaderError);
      expect(redirected).toMatchObject({ error: { retryable: true, leader: { leaderId: 3, clientAddress: "127.0.0.1:1" } } });
      leader.notLeader = undefined;
      leader.gate = new Promise(() => undefined);
      held = relay(forwarder, { kind: "write", requestId: 6, command: put("k", "v") }).outcome;
      await waitUntil("the leader to receive the relayed write", () => leader.calls.length > 2);
    });
    try {
      const lost = await held;
      expect(lost !== undefined && "error" in lost && lost.error).toBeInstanceOf(UnavailableError);
      expect(lost).toMatchObject({ error: { retryable: true } });
    } finally {
      forwarder?.close();
    }
  });

  it("counts in forwardsInFlightMax: at the bound it takes nothing more, and a cancelled relay (its deadline passed) frees its place", async () => {
    const leader = new FakeKvService();
    await withServer(leader, {}, async (port) => {
      const forwarder = forwarderTo(port, 1);
      try {
        await forwarder.write(put("k0", "v"), 5000, NO_SCOPE);
        leader.gate = new Promise(() => undefined);
        const first = relay(forwarder, { kind: "write", requestId: 5, command: put("a", "1") });
        expect(first.cancel).toBeTypeOf("function");
        expect(relay(forwarder, { kind: "write", requestId: 6, command: put("b", "2") }).cancel).toBeUndefined();
        first.cancel?.();
        expect(relay(forwarder, { kind: "write", requestId: 7, command: put("c", "3") }).cancel).toBeTypeOf("function");
      } finally {
        forwarder.close();
      }
    });
  });
});

describe("a follower's client port with the relay", () => {
  it("answers TIMEOUT for a relayed write the leader does not answer in time, and the connection goes on: its slot and its place among the writes are given back", async () => {
    const leader = new FakeKvService();
    const follower = new FakeKvService();
    await withServer(leader, {}, async (leaderPort) => {
      const forwarder = forwarderTo(leaderPort);
      try {
        await forwarder.write(put("k0", "v"), 5000, NO_SCOPE);
        await withServer(follower, { relay: forwarder, leadership: () => ({ memberId: 2, leaderId: 1 }), requestTimeoutMs: 200, inFlightPerConnectionMax: 1 }, async (port) => {
          const client = await RawClient.connect(port, true, true);
          try {
            leader.gate = new Promise(() => undefined);
            client.send({ kind: "write", requestId: 11, command: put("a", "1") });
            expect(await client.reply(11)).toMatchObject({ kind: "error", code: "TIMEOUT", retryable: true });
            // One request at a time on this connection, and a read waits for the writes before it: both would hang on a write never finished.
            client.send({ kind: "get", requestId: 12, key: utf8("k"), consistency: "serializable" });
            expect(await client.reply(12)).toMatchObject({ kind: "get-ok" });
          } finally {
            client.destroy();
          }
        });
      } finally {
        forwarder.close();
      }
    });
  });

  it("answers a forwarding client's writes with the leader's results without its own service seeing them, under the client's request ids", async () => {
    const leader = new FakeKvService();
    const follower = new FakeKvService();
    const served: { request: RequestContext; kind: string }[] = [];
    await withServer(leader, { onServed: (request) => served.push(request) }, async (leaderPort) => {
      const forwarder = forwarderTo(leaderPort);
      try {
        await forwarder.write(put("k0", "v"), 5000, NO_SCOPE);
        await withServer(follower, { relay: forwarder, leadership: () => ({ memberId: 2, leaderId: 1 }) }, async (port) => {
          const client = await RawClient.connect(port, true, true);
          try {
            client.send(
              { kind: "write", requestId: 11, command: put("a", "1"), context: { requestId: "c-11" } },
              { kind: "write", requestId: 12, command: put("b", "2") },
            );
            expect(await client.reply(11)).toMatchObject({ kind: "write-ok", result: { ok: true } });
            expect(await client.reply(12)).toMatchObject({ kind: "write-ok", result: { ok: true } });
            expect(follower.calls, "the follower's own service serves none of them").toEqual([]);
            expect(leader.writes).toHaveLength(3);
            expect(served.map((s) => s.request.requestId)).toContain("c-11");
            leader.notLeader = { leader: undefined };
            client.send({ kind: "write", requestId: 13, command: put("c", "3") });
            expect(await client.reply(13)).toMatchObject({ kind: "error", code: "NOT_LEADER", retryable: true });
          } finally {
            client.destroy();
          }
        });
      } finally {
        forwarder.close();
      }
    });
  });
});
