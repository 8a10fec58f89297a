/**
 * A snapshot corrupted on its way to a member is refused, not installed (issue 15).
 *
 * Members 1 and 2 reach member 3's peer port through a proxy that flips one bit of the
 * first InstallSnapshot chunk it carries (the last byte of its frame: snapshot data). Member
 * 3 starts after the leader has compacted its log, so it can only catch up by snapshot.
 * On the old code the corrupted bytes were installed: the member stopped on a snapshot
 * that did not decode, or served a state that was not the leader's. Now the chunk fails
 * the whole-snapshot CRC32C, the transfer is dropped and counted, the member keeps its
 * old state and stays up, and the leader's next transfer installs.
 */
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FrameType } from "../../src/transport/frames.js";
import { InProcessCluster } from "../support/in-process-cluster.js";
import { waitFor } from "../support/wait.js";

/** The wire code of a Snap message (transport/codec.ts): the first payload byte of its RAFT frame. */
const SNAP_TYPE_CODE = 9;
/** A frame's length prefix (u32 BE), then its version and type bytes. */
const FRAME_PREFIX_BYTES = 4;

let cluster: InProcessCluster | undefined;
let proxy: net.Server | undefined;
const sockets = new Set<net.Socket>();

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await new Promise<void>((resolve) => (proxy === undefined ? resolve() : proxy.close(() => resolve())));
  proxy = undefined;
  await cluster?.stopAll();
  cluster = undefined;
});

/**
 * A TCP proxy to `targetPort` that, towards the target, passes frames whole and flips a
 * bit in the last byte of each of the first `corruptSnaps` Snap frames.
 */
async function corruptingProxy(targetPort: number, corruptSnaps: number): Promise<{ port: number; corrupted: () => number }> {
  let corrupted = 0;
  const server = net.createServer((inbound) => {
    const outbound = net.connect(targetPort, "127.0.0.1");
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => { inbound.destroy(); outbound.destroy(); });
    }
    outbound.on("data", (bytes: Buffer) => inbound.write(bytes));
    let pending = Buffer.alloc(0);
    inbound.on("data", (bytes: Buffer) => {
      pending = Buffer.concat([pending, bytes]);
      while (pending.length >= FRAME_PREFIX_BYTES) {
        const frameBytes = FRAME_PREFIX_BYTES + pending.readUInt32BE(0);
        if (pending.length < frameBytes) break;
        const frame = Buffer.from(pending.subarray(0, frameBytes));
        pending = pending.subarray(frameBytes);
        const isSnap = frame[FRAME_PREFIX_BYTES + 1] === FrameType.Raft && frame[FRAME_PREFIX_BYTES + 2] === SNAP_TYPE_CODE;
        if (isSnap && corrupted < corruptSnaps) {
          corrupted++;
          frame[frame.length - 1] = (frame[frame.length - 1] as number) ^ 0x04;
        }
        outbound.write(frame);
      }
    });
  });
  proxy = server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, corrupted: () => corrupted };
}

async function put(c: InProcessCluster, id: number, key: string, value: string): Promise<void> {
  const response = await fetch(`${c.http(id)}/v1/kv/${key}`, { method: "PUT", body: value, signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
}

async function metricsText(c: InProcessCluster, id: number): Promise<string> {
  return (await fetch(`${c.http(id)}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
}

describe("a snapshot is checked whole before it is installed", () => {
  it("a snapshot whose bytes were flipped in transit is refused; the member stays up with its old state, and the leader's resend installs", async () => {
    let proxyPort = 0;
    const c = await InProcessCluster.create(3, (id) => ({
      snapshotEveryEntries: 20,
      clusterId: "snapshot-checksum-test", // else derived from --peers, which differ here
      ...(id === 3 ? {} : { peers: new Map([...cluster!.ports].map(([peer, ports]) => [peer, { host: "127.0.0.1", port: peer === 3 ? proxyPort : ports.peer }])) }),
    }));
    cluster = c;
    const link = await corruptingProxy((c.ports.get(3) as { peer: number }).peer, 1);
    proxyPort = link.port;
    await c.start(1);
    await c.start(2);
    const leader = await c.waitForLeader();
    for (let i = 0; i < 60; i++) await put(c, leader, `key-${i}`, `value-${i}`);
    const leaderServer = c.server(leader);
    // Its log then starts after the snapshot: member 3, at the bootstrap index, can catch up only by snapshot.
    await waitFor("the leader to save a snapshot", () => /snapshot saved at index/.test(c.log(leader)) || undefined, 10_000);

    const member3 = await c.start(3);
    await waitFor("a corrupted snapshot chunk to reach member 3", () => link.corrupted() === 1 || undefined, 15_000);
    await waitFor("member 3 to refuse the corrupted snapshot", () => member3.replica.snapshotsRefused() === 1 || undefined, 10_000);
    expect(c.log(3)).toMatch(/refused the leader's snapshot at index \d+: .*failed its CRC32C/);
    expect(await metricsText(c, 3)).toMatch(/^kvraft_raft_snapshots_refused_total 1$/m);
    expect(member3.replica.fatalError()).toBeUndefined();

    // The leader sends the snapshot again; this time it arrives whole and installs.
    await waitFor("member 3 to hold every key", () => member3.replica.state().keyCount() === 60 || undefined, 15_000);
    await waitFor("member 3's state to be the leader's", () => {
      const mine = member3.replica.state();
      const theirs = leaderServer.replica.state();
      return (mine.appliedIndex === theirs.appliedIndex && mine.digest() === theirs.digest()) || undefined;
    }, 10_000);
    // One install, after the refusal: the bytes installed are the resent ones (the digest above is the leader's).
    const lines = c.log(3).split("\n");
    const installs = lines.flatMap((line, at) => (/"type":"snapshot-installed"/.test(line) ? [at] : []));
    expect(installs.length).toBe(1);
    expect(lines.findIndex((line) => /refused the leader's snapshot/.test(line))).toBeLessThan(installs[0] as number);
    expect(c.stopped.has(3)).toBe(false);
    expect(member3.replica.fatalError()).toBeUndefined();
    expect(member3.replica.snapshotsRefused()).toBe(1);
  }, 60_000);
});
