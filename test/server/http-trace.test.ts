import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { WriteCommand } from "../../src/kv/index.js";
import { BinaryForwarder } from "../../src/server/forwarding.js";
import { buildHttpApp } from "../../src/server/http/app.js";
import {
  TRACE_STAMP_HEADER, VectorClockTracer, checkTrace, mergeLogs, parseEvents, parseMessageEvent, stampFromText, stampToText, type TraceEvent,
} from "../../src/trace/index.js";
import { FakeKvService } from "../support/fake-kv-service.js";
import { withServer } from "../client/raw-client.js";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function tracerOf(host: string): { tracer: VectorClockTracer; log: () => string } {
  let text = "";
  return { tracer: new VectorClockTracer(host, (lines) => { text += lines; }), log: () => text };
}

/** A member's HTTP API on 127.0.0.1:0 with its tracer, logging JSON lines into `lines`. */
async function member(tracer: VectorClockTracer, lines: Record<string, unknown>[]): Promise<string> {
  const service = new FakeKvService();
  const log = pino({ level: "debug" }, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>); } });
  const app = buildHttpApp({
    service, status: () => { throw new Error("not in this test"); }, registry: new Registry(), log, tracer,
    health: () => ({ ok: true }), readiness: () => ({ ok: true }),
    extraRoutes: [], valueBytesMax: 1024, listLimitMax: 100,
  });
  const server = app.listen(0, "127.0.0.1");
  servers.push(server);
  await new Promise((resolve) => server.once("listening", resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function merged(...logs: string[]): TraceEvent[] {
  return parseEvents(mergeLogs(logs).split("\n").slice(2).join("\n"));
}

describe("HTTP API: trace stamps and request ids across a forward (issue 18)", () => {
  it("a stamped request is a receive on the member and its answer a send whose stamp comes back in the header", async () => {
    const client = tracerOf("client-5");
    const leader = tracerOf("member-1");
    const address = await member(leader.tracer, []);
    const stamp = client.tracer.send({ kind: "put", to: "member-1", requestId: "http-1" });
    const response = await fetch(`http://${address}/v1/kv/k`, {
      method: "PUT", body: "v", headers: { [TRACE_STAMP_HEADER]: stampToText(stamp), "x-request-id": "http-1" },
    });
    expect(response.status).toBe(200);
    const reply = stampFromText(response.headers.get(TRACE_STAMP_HEADER) ?? "");
    client.tracer.receive({ kind: "reply", from: "member-1", stamp: reply, requestId: "http-1" });
    const events = merged(client.log(), leader.log());
    expect(checkTrace(events)).toEqual([]);
    expect(events.map((e) => `${e.host} ${e.event}`)).toEqual([
      "client-5 send put to=member-1 msg=client-5#1 req=http-1",
      "client-5 recv reply from=member-1 msg=member-1#2 req=http-1",
      "member-1 recv put from=client-5 msg=client-5#1 req=http-1",
      "member-1 send reply to=client-5 msg=member-1#2 req=http-1 status=200",
    ]);
  });

  it("a follower's forward is a send/recv pair with the leader's binary port, carrying the request id", async () => {
    const leader = tracerOf("member-1");
    const follower = tracerOf("member-2");
    await withServer(new FakeKvService(), { tracer: leader.tracer }, async (port) => {
      const forwarder = new BinaryForwarder({ leaderId: () => 1, addresses: () => ({ client: `127.0.0.1:${port}` }) }, {
        memberId: 2, requestTimeoutMs: 5000, forwardsInFlightMax: 16, frameBytesMax: 1024 * 1024, tls: () => undefined, provesMember: false, authRequired: false, tracer: follower.tracer,
      });
      try {
        const command: WriteCommand = { type: "put", key: new TextEncoder().encode("k"), value: new TextEncoder().encode("v") };
        const answer = await forwarder.write(command, undefined, { request: { requestId: "fwd-1", traceparent: TRACEPARENT } });
        expect(answer).toMatchObject({ ok: true });
      } finally {
        forwarder.close();
      }
    });
    const events = merged(follower.log(), leader.log());
    expect(checkTrace(events)).toEqual([]);
    const messages = events.map((e) => ({ host: e.host, ...parseMessageEvent(e.event) }));
    expect(messages).toEqual([
      expect.objectContaining({ host: "member-2", direction: "send", kind: "forward", peer: "member-1", requestId: "fwd-1" }),
      expect.objectContaining({ host: "member-2", direction: "recv", kind: "reply", peer: "member-1", requestId: "fwd-1" }),
      expect.objectContaining({ host: "member-1", direction: "recv", kind: "write", peer: "member-2", requestId: "fwd-1" }),
      expect.objectContaining({ host: "member-1", direction: "send", kind: "reply", peer: "member-2", requestId: "fwd-1" }),
    ]);
  });
});
