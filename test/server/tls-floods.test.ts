import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { FrameDecoder, decodeResponse, encodeRequest, type Response } from "../../src/protocol/index.js";
import { startServer } from "../../src/server/server.js";
import { CONNECTIONS_PER_ADDRESS_MAX_DEFAULT } from "../../src/transport/per-address.js";
import { DEFAULT_TRANSPORT_LIMITS } from "../../src/transport/config.js";
import { LineSocket } from "../support/line-socket.js";
import { RawFlood } from "../support/raw-flood.js";
import { SecureCluster, type SecureMemberPorts } from "../support/secure-cluster.js";
import { waitFor } from "../support/wait.js";

/**
 * Issue 15: with TLS on, the binary and memcached ports counted a connection only once
 * its TLS handshake was done, so raw TCP sockets that never start TLS were held (total
 * and per address) by nothing but the 10 s handshake timeout; and the peer port's 256
 * inbound slots were shared by everyone, so one address could fill them and keep a
 * member from reaching its peer. Both now count a TCP connection at its accept, and the
 * peer port caps each address (inboundConnectionsPerAddressMax).
 */
const FLOOD_SOCKETS = 1100;
const FLOOD_ADDRESS = "127.0.0.2";
const RW = "readwrite-token-0123456789abcdef";
const TOKENS = `${RW},alice,read-write\n`;
/** Well under the 10 s TLS handshake timeout: only a refusal at accept closes this many sockets this soon. */
const REFUSED_WITHIN_MS = 6000;

let cluster: SecureCluster | undefined;
const floods: RawFlood[] = [];
afterEach(async () => {
  for (const flood of floods.splice(0)) flood.stop();
  await cluster?.stop();
  cluster = undefined;
});

async function flood(port: number, refillAfterHeldMs?: number): Promise<RawFlood> {
  const started = await RawFlood.start({ port, count: FLOOD_SOCKETS, localAddress: FLOOD_ADDRESS, ...(refillAfterHeldMs === undefined ? {} : { refillAfterHeldMs }) });
  floods.push(started);
  return started;
}

describe("a raw TCP flood from one address against the TLS client ports", () => {
  it("is capped per address before TLS on the binary port, and a good TLS client is served", async () => {
    cluster = await SecureCluster.started(1, { tls: true, tokens: TOKENS });
    const flooding = await flood((cluster.ports.get(1) as SecureMemberPorts).client);
    await flooding.closedAtLeast(FLOOD_SOCKETS - CONNECTIONS_PER_ADDRESS_MAX_DEFAULT, REFUSED_WITHIN_MS);
    expect(flooding.openCount).toBeLessThanOrEqual(CONNECTIONS_PER_ADDRESS_MAX_DEFAULT);

    const socket = await cluster.dialTls(1, "client");
    const decoder = new FrameDecoder(1 << 20);
    const replies: Response[] = [];
    socket.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) replies.push(decodeResponse(frame));
    });
    socket.write(encodeRequest({ kind: "hello", requestId: 1, clientName: "good", forward: false, token: RW }));
    socket.write(encodeRequest({ kind: "write", requestId: 2, command: { type: "put", key: Buffer.from("k"), value: Buffer.from("v") } }));
    const written = await waitFor("the good client's write", () => replies.find((reply) => reply.requestId === 2), 10_000);
    expect(replies[0]?.kind).toBe("hello-ok");
    expect(written.kind).toBe("write-ok");
  }, 60_000);

  it("is capped per address before TLS on the memcached port, counted in its stats, and a good TLS client is served", async () => {
    cluster = await SecureCluster.started(1, { tls: true, tokens: TOKENS });
    const flooding = await flood((cluster.ports.get(1) as SecureMemberPorts).memcached);
    await flooding.closedAtLeast(FLOOD_SOCKETS - CONNECTIONS_PER_ADDRESS_MAX_DEFAULT, REFUSED_WITHIN_MS);
    expect(flooding.openCount).toBeLessThanOrEqual(CONNECTIONS_PER_ADDRESS_MAX_DEFAULT);

    const good = new LineSocket(await cluster.dialTls(1, "memcached"));
    expect(await good.send(`set auth 0 0 ${RW.length + 6}\r\nalice ${RW}\r\n`)).toBe("STORED\r\n");
    expect(await good.send("set k 0 0 1\r\nv\r\n")).toBe("STORED\r\n");
    const stats = await good.send("stats\r\n", /END\r\n$/);
    const stat = (name: string): number => Number(new RegExp(`STAT ${name} (\\d+)`).exec(stats)?.[1]);
    expect(stat("rejected_connections")).toBeGreaterThanOrEqual(FLOOD_SOCKETS - CONNECTIONS_PER_ADDRESS_MAX_DEFAULT);
    expect(stat("curr_connections")).toBeLessThanOrEqual(CONNECTIONS_PER_ADDRESS_MAX_DEFAULT + 1);
    good.close();
  }, 60_000);
});

describe("a raw TCP flood from one address against a TLS peer port", () => {
  it("leaves room for the real members: a 3-member cluster with peer TLS elects, commits and the flooded member follows", async () => {
    cluster = await SecureCluster.create(3, { tls: true });
    const secure = cluster;
    secure.servers.set(1, await startServer(secure.config(1), pino({ level: "silent" })));
    // The flood keeps up: a socket the member held until its TLS handshake timed out is
    // reopened at once, as an attacker would.
    const flooding = await flood((secure.ports.get(1) as SecureMemberPorts).peer, 1000);
    await flooding.closedAtLeast(FLOOD_SOCKETS - DEFAULT_TRANSPORT_LIMITS.inboundConnectionsPerAddressMax, REFUSED_WITHIN_MS);
    expect(flooding.openCount).toBeLessThanOrEqual(DEFAULT_TRANSPORT_LIMITS.inboundConnectionsPerAddressMax);

    await Promise.all([2, 3].map(async (id) => {
      secure.servers.set(id, await startServer(secure.config(id), pino({ level: "silent" })));
    }));
    // Every member knows the leader: member 1 hears it only over a connection the leader dialled to it.
    const leader = await secure.waitForLeader(20_000);
    expect((await secure.request(leader, "PUT", "/v1/kv/through-the-flood", {}, "yes")).status).toBeLessThan(300);
    const committed = (secure.servers.get(leader)?.status().commitIndex) ?? 0;
    await waitFor("member 1 to apply the write", () => ((secure.servers.get(1)?.status().appliedIndex ?? 0) >= committed ? true : undefined), 10_000);
  }, 60_000);
});
