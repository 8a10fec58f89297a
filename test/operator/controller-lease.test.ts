import http from "node:http";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { KubeRest } from "../../src/operator/controller/kube-rest.js";
import { LeaseElector } from "../../src/operator/controller/lease-loop.js";
import { waitFor } from "../support/wait.js";

/**
 * A stand-in for the API server's Lease endpoints with its optimistic concurrency: a PUT
 * must carry the resourceVersion it read, or it is refused with 409.
 */
class FakeLeaseServer {
  lease: { metadata: Record<string, unknown>; spec: Record<string, unknown> } | undefined;
  private version = 1;
  writes = 0;
  private constructor(private readonly server: http.Server, readonly url: string) {}

  static async start(): Promise<FakeLeaseServer> {
    const holder: { fake?: FakeLeaseServer } = {};
    const server = http.createServer((req, res) => holder.fake?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const fake = new FakeLeaseServer(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
    holder.fake = fake;
    return fake;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = "";
    req.on("data", (c: Buffer) => { body += c.toString(); });
    req.on("end", () => {
      const reply = (status: number, json: unknown): void => { res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json)); };
      if (req.method === "GET") return this.lease === undefined ? reply(404, { reason: "NotFound", message: "not found" }) : reply(200, this.lease);
      const sent = JSON.parse(body) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
      if (req.method === "POST") {
        if (this.lease !== undefined) return reply(409, { reason: "AlreadyExists", message: "exists" });
      } else if (sent.metadata["resourceVersion"] !== this.lease?.metadata["resourceVersion"]) {
        return reply(409, { reason: "Conflict", message: "the object has been modified" });
      }
      this.writes++;
      this.lease = { metadata: { ...sent.metadata, resourceVersion: String(++this.version) }, spec: sent.spec };
      reply(200, this.lease);
    });
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function restFor(url: string): KubeRest {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server: url, skipTLSVerify: true }], users: [{ name: "u" }],
    contexts: [{ name: "fake", cluster: "fake", user: "u" }], currentContext: "fake",
  });
  return new KubeRest(kc);
}

// Generous for a loaded machine: a renewal delayed past the lease would let both lead for a moment.
const timing = { leaseDurationSeconds: 3, renewDeadlineMs: 2_000, retryPeriodMs: 200 };

describe("leader election on a Lease", () => {
  let server: FakeLeaseServer | undefined;
  const electors: LeaseElector[] = [];
  afterEach(async () => {
    await Promise.all(electors.map((e) => e.stop()));
    electors.length = 0;
    await server?.stop();
    server = undefined;
  });

  const elector = (identity: string, log: string[]): LeaseElector => {
    const e = new LeaseElector(restFor((server as FakeLeaseServer).url), {
      namespace: "ns", name: "kvraft-operator", identity, timing,
      onStartedLeading: () => log.push(`${identity} leads`),
      onStoppedLeading: (why) => log.push(`${identity} stopped: ${why}`),
      onError: () => undefined,
    });
    electors.push(e);
    return e;
  };

  it("exactly one of two replicas leads; when it stops, it releases the Lease and the other takes over", async () => {
    server = await FakeLeaseServer.start();
    const log: string[] = [];
    const a = elector("a", log);
    const b = elector("b", log);
    a.start();
    b.start();
    const first = await waitFor("one leader", () => (a.isLeader !== b.isLeader ? (a.isLeader ? a : b) : undefined), 10_000, 20);
    const second = first === a ? b : a;
    // Over several renewals, never both.
    const renewalsBefore = server.writes;
    await waitFor("a few renewals", () => (server && server.writes >= renewalsBefore + 3) || undefined, 10_000, 20);
    expect(a.isLeader && b.isLeader).toBe(false);
    expect(server.lease?.spec["holderIdentity"]).toBe(first === a ? "a" : "b");
    await first.stop();
    expect(server.lease?.spec["holderIdentity"]).toBe("");
    await waitFor("the other to take over", () => second.isLeader || undefined, 10_000, 20);
    expect(server.lease?.spec["holderIdentity"]).toBe(second === a ? "a" : "b");
    expect(server.lease?.spec["leaseTransitions"]).toBe(1);
    expect(log.filter((l) => l.endsWith("leads"))).toHaveLength(2);
  });

  it("a leader that cannot renew steps down within its renew deadline", async () => {
    server = await FakeLeaseServer.start();
    const log: string[] = [];
    const a = elector("a", log);
    a.start();
    await waitFor("a to lead", () => a.isLeader || undefined, 10_000, 20);
    await server.stop(); // the API server goes away
    await waitFor("a to step down", () => (!a.isLeader ? true : undefined), 10_000, 20);
    expect(log.at(-1)).toMatch(/^a stopped: could not renew the Lease for 2000 ms/);
  });
});
