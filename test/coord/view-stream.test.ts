import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ClusterView, RunningCoordinator } from "../../src/coord/index.js";
import { startCoordinator } from "../../src/coord/index.js";
import { STATUS_PAGE_SCRIPT } from "../../src/coord/page/page-script.js";
import type { HistoryEntry } from "../../src/coord/view-history.js";
import type { StreamSnapshot, StreamView } from "../../src/coord/view-stream.js";
import { SseReader } from "../support/sse-reader.js";
import { waitFor } from "../support/wait.js";
import { CLUSTER, configuration, heartbeatOf } from "./fixtures.js";

/** GET /v1/events and the status page, against an in-process coordinator with a test clock. */
describe("coordinator status stream (GET /v1/events) and page (GET /)", () => {
  let coordinator: RunningCoordinator | undefined;
  const readers: SseReader[] = [];
  let clock = 1_000_000;

  const start = async (limits: Parameters<typeof startCoordinator>[0] = {}): Promise<RunningCoordinator> => {
    coordinator = await startCoordinator({ host: "127.0.0.1", port: 0, unreachableAfterMs: 1000, watchIntervalMs: 10, now: () => clock, ...limits });
    return coordinator;
  };
  const open = async (): Promise<SseReader> => {
    const reader = await SseReader.open(`${coordinator?.url}/v1/events`);
    readers.push(reader);
    return reader;
  };
  const post = (body: unknown): Promise<Response> =>
    fetch(`${coordinator?.url}/v1/heartbeat`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const leaderOf = (view: { clusters: readonly ClusterView[] }): number | undefined => view.clusters[0]?.leader?.id;

  afterEach(async () => {
    for (const reader of readers.splice(0)) reader.close();
    await coordinator?.stop();
    coordinator = undefined;
  });

  it("starts with a snapshot of every cluster and the history, then sends the view as a heartbeat changes it", async () => {
    await start();
    await post(heartbeatOf(1, { role: "leader", term: 2, members: configuration([[1, "voter", 0], [2, "voter", 3]]) }));
    await post(heartbeatOf(2, { term: 2, leaderId: 1 }));
    const reader = await open();
    expect(reader.response.statusCode).toBe(200);
    expect(reader.response.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    const snapshot = await reader.waitForEvent<StreamSnapshot>("snapshot", () => true);
    expect(leaderOf(snapshot)).toBe(1);
    expect(snapshot.clusters[0]?.members.map((m) => [m.id, m.role, m.lag])).toEqual([[1, "leader", 0], [2, "follower", 3]]);
    expect(snapshot.history.map((h) => h.text)).toEqual(["m1 joined as voter", "leader m1 in term 2", "m2 joined as voter"]);

    // Member 2 wins an election: the first report that says so is on the stream, without waiting for a tick.
    clock += 100;
    await post(heartbeatOf(2, { role: "leader", term: 3, leaderId: 2, members: configuration([[1, "voter", 1], [2, "voter", 0]]) }));
    const view = await reader.waitForEvent<StreamView>("view", (v) => leaderOf(v) === 2);
    expect(view.clusters[0]?.leader).toMatchObject({ id: 2, term: 3 });
    const change = await reader.waitForEvent<HistoryEntry>("change", (e) => e.event.type === "leader-changed");
    expect(change).toMatchObject({ atMs: clock, text: "leader m2 in term 3", event: { clusterId: CLUSTER, leaderId: 2, term: 3 } });
  });

  it("marks a member unreachable on the stream when time alone passes (the watch tick), and keeps the history bounded", async () => {
    await start({ historyEntriesMax: 2 });
    await post(heartbeatOf(1, { role: "leader", term: 2 }));
    await post(heartbeatOf(2, { term: 2, leaderId: 1 }));
    const reader = await open();
    expect((await reader.waitForEvent<StreamSnapshot>("snapshot", () => true)).history).toHaveLength(2);
    clock += 5000;
    const view = await reader.waitForEvent<StreamView>("view", (v) => v.clusters[0]?.members.every((m) => m.liveness === "unreachable") === true);
    expect(view.clusters[0]?.leader).toBeNull();
    const later = await open();
    const snapshot = await later.waitForEvent<StreamSnapshot>("snapshot", () => true);
    // Six changes so far (two joins, a leader, two unreachable, no leader): only the last two are kept.
    expect(snapshot.history.map((h) => h.text)).toEqual(["m2 unreachable (no heartbeat for 5000 ms)", "no leader known"]);
  });

  it("answers 503 past streamSubscribersMax, and a closed stream frees its place", async () => {
    await start({ streamSubscribersMax: 2 });
    const [first] = [await open(), await open()];
    const refused = await fetch(`${coordinator?.url}/v1/events`);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: "LIMIT_REACHED", limit: "streamSubscribersMax" } });
    first?.close();
    // The server notices the disconnect and drops the subscriber: a new reader gets in.
    const again = await waitFor("a stream accepted after one closed", async () => {
      const reader = await open();
      if (reader.response.statusCode === 200) return reader;
      reader.close();
      return undefined;
    }, 5000);
    expect(again.response.statusCode).toBe(200);
  });

  it("drops a reader that stops reading once streamBufferBytesMax is queued for it, freeing its place", async () => {
    await start({ streamSubscribersMax: 1, streamBufferBytesMax: 16 * 1024 });
    const port = (coordinator as RunningCoordinator).port;
    // A raw connection that asks for the stream and then never reads a byte.
    const stuck = connect(port, "127.0.0.1", () => stuck.write("GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    stuck.pause();
    stuck.on("error", () => undefined);
    try {
      await waitFor("the stuck reader to hold the only place", async () => ((await fetch(`${coordinator?.url}/v1/events`)).status === 503 ? true : undefined));
      // Views of a 200-member configuration (~50 KiB each), a new one per report, until the
      // socket buffers are full, what is queued passes the limit and the place is free again.
      const big = configuration(Array.from({ length: 200 }, (_, i) => [i + 1, "voter", 0] as const));
      let commitIndex = 1;
      const reader = await waitFor("a new reader accepted after the stuck one was dropped", async () => {
        for (let i = 0; i < 20; i++) await post(heartbeatOf(1, { role: "leader", term: 2, commitIndex: ++commitIndex, members: big }));
        const next = await open();
        if (next.response.statusCode === 200) return next;
        next.close();
        return undefined;
      }, 30_000, 0);
      expect(reader.response.statusCode).toBe(200);
      // Its first message alone is larger than the limit: it still goes out whole.
      const snapshot = await reader.waitForEvent<StreamSnapshot>("snapshot", () => true);
      expect(snapshot.clusters[0]?.members).toHaveLength(200);
    } finally {
      stuck.destroy();
    }
  }, 40_000);

  it("sends a keep-alive comment on an idle stream every streamKeepAliveMs", async () => {
    await start({ streamKeepAliveMs: 100 });
    const reader = await open();
    await waitFor("two keep-alive comments", () => reader.commentCount >= 2, 5000, 20);
    expect(reader.commentCount).toBeGreaterThanOrEqual(2);
  });

  it("serves the page and its script from this origin under a Content-Security-Policy without inline script", async () => {
    await start();
    const page = await fetch(`${coordinator?.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self';");
    const html = await page.text();
    expect(html).toContain('<script src="status-page.js" defer></script>');
    const script = await fetch(`${coordinator?.url}/status-page.js`);
    expect(script.headers.get("content-type")).toContain("text/javascript");
    expect(await script.text()).toBe(STATUS_PAGE_SCRIPT);
    expect((await fetch(`${coordinator?.url}/status-page.css`)).status).toBe(200);
  });

  it("the page's script never puts server data into markup (no innerHTML, outerHTML, insertAdjacentHTML or document.write)", () => {
    expect(STATUS_PAGE_SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect(STATUS_PAGE_SCRIPT).toContain("textContent");
  });
});
