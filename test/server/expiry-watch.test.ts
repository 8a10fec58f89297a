import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProcessCluster } from "../support/process-cluster.js";

interface WatchEvent { type: string; revision: number; key?: string; expired?: boolean }

/**
 * Reads an HTTP watch stream until `done` accepts an event or `timeoutMs` passes;
 * returns the events seen. Nothing else writes meanwhile, so only the leader's
 * expiry tick can make the key's expiry happen.
 */
async function watchUntil(url: string, done: (event: WatchEvent) => boolean, timeoutMs: number): Promise<WatchEvent[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const seen: WatchEvent[] = [];
  try {
    const response = await fetch(url, { signal: abort.signal });
    expect(response.status).toBe(200);
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const event = JSON.parse(buffered.slice(0, newline)) as WatchEvent;
        buffered = buffered.slice(newline + 1);
        seen.push(event);
        if (done(event)) return seen;
      }
    }
  } catch (error) {
    if (!abort.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return seen;
}

/** Issue 16: on an idle cluster a key's expiry fired only with an unrelated write. */
describe("expiry on an idle cluster (real server processes)", () => {
  let cluster: ProcessCluster;

  beforeAll(async () => {
    cluster = await ProcessCluster.create(3);
    cluster.startAll();
    await cluster.waitForLeader();
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it("a watcher on a follower hears a 1 s TTL key expire within 2 s, with no other writes", async () => {
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const started = Date.now();
    const written = await fetch(`${cluster.http(leader)}/v1/kv/lease%2Fholder?ttl=1000`, { method: "PUT", body: "me" });
    expect(written.status, await written.clone().text()).toBe(200);
    const { revision } = (await written.json()) as { revision: number };
    const events = await watchUntil(
      `${cluster.http(follower)}/v1/watch?prefix=lease/&fromRevision=${revision + 1}`,
      (event) => event.type === "delete",
      4000,
    );
    const elapsedMs = Date.now() - started;
    console.log(`expiry event after ${elapsedMs} ms (ttl 1000 ms): ${JSON.stringify(events)}`);
    expect(events).toContainEqual(expect.objectContaining({ type: "delete", key: "lease/holder", expired: true }));
    expect(elapsedMs).toBeLessThan(2000);
  }, 20_000);
});
