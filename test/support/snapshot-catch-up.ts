/**
 * Three in-process members where member 3 can catch up only by snapshot, and members 1
 * and 2 reach its peer port through a proxy that may alter or drop the frames it carries
 * towards member 3 (the snapshot checks of issue 15: test/server/snapshot-*.test.ts).
 */
import * as net from "node:net";
import { expect } from "vitest";
import type { RunningServer } from "../../src/server/server.js";
import { InProcessCluster } from "./in-process-cluster.js";
import { waitFor } from "./wait.js";

/** A frame's length prefix (u32 BE, counts the bytes after it), then its version and type bytes. */
export const FRAME_PREFIX_BYTES = 4;

/** What goes on towards member 3 in place of a whole frame: the same, another, or nothing. */
export type FrameRewrite = (frame: Buffer) => Buffer | undefined;

export interface SnapshotCatchUp {
  readonly cluster: InProcessCluster;
  readonly leader: number;
  /** Closes the proxy and stops the members. */
  close(): Promise<void>;
}

/** A TCP proxy to `targetPort` that passes frames whole towards the target, each through `rewrite`. */
async function frameProxy(targetPort: number, rewrite: FrameRewrite): Promise<{ server: net.Server; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
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
        const frame = rewrite(Buffer.from(pending.subarray(0, frameBytes)));
        pending = pending.subarray(frameBytes);
        if (frame !== undefined) outbound.write(frame);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, sockets };
}

/**
 * Starts members 1 and 2 (member 3's peer reached through the proxy), writes 60 keys and
 * waits for the leader to save a snapshot: its log then starts after it, so member 3, at
 * the bootstrap index, can catch up only by snapshot. Member 3 is the caller's to start.
 */
export async function snapshotCatchUp(clusterId: string, rewrite: FrameRewrite): Promise<SnapshotCatchUp> {
  let proxyPort = 0;
  let c: InProcessCluster | undefined = undefined;
  c = await InProcessCluster.create(3, (id) => ({
    snapshotEveryEntries: 20,
    clusterId, // else derived from --peers, which differ here
    ...(id === 3 ? {} : { peers: new Map([...c!.ports].map(([peer, ports]) => [peer, { host: "127.0.0.1", port: peer === 3 ? proxyPort : ports.peer }])) }),
  }));
  const cluster = c;
  const proxy = await frameProxy((cluster.ports.get(3) as { peer: number }).peer, rewrite);
  proxyPort = (proxy.server.address() as net.AddressInfo).port;
  const close = async (): Promise<void> => {
    for (const socket of proxy.sockets) socket.destroy();
    await new Promise<void>((resolve) => proxy.server.close(() => resolve()));
    await cluster.stopAll();
  };
  await cluster.start(1);
  await cluster.start(2);
  const leader = await cluster.waitForLeader();
  for (let i = 0; i < 60; i++) await put(cluster, leader, `key-${i}`, `value-${i}`);
  await waitFor("the leader to save a snapshot", () => /snapshot saved at index/.test(cluster.log(leader)) || undefined, 10_000);
  return { cluster, leader, close };
}

async function put(c: InProcessCluster, id: number, key: string, value: string): Promise<void> {
  const response = await fetch(`${c.http(id)}/v1/kv/${key}`, { method: "PUT", body: value, signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
}

export async function metricsText(c: InProcessCluster, id: number): Promise<string> {
  return (await fetch(`${c.http(id)}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
}

/**
 * Member 3 converges to the leader's state, by one install that came after its one
 * refusal, and is up.
 */
export async function expectInstalledAfterRefusal(c: InProcessCluster, leader: number, member3: RunningServer): Promise<void> {
  await waitFor("member 3 to hold every key", () => member3.replica.state().keyCount() === 60 || undefined, 15_000);
  await waitFor("member 3's state to be the leader's", () => {
    const mine = member3.replica.state();
    const theirs = c.server(leader).replica.state();
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
}
