import { describe, expect, it } from "vitest";
import { ReplicaMetrics } from "../../src/server/replica-metrics.js";

/** The request metrics are tallied outside prom-client and handed over at scrape time: the exposition must say what the observers heard. */
describe("the request tally", () => {
  it("exports each protocol's counts by op and result, and their latencies by op", async () => {
    const metrics = new ReplicaMetrics();
    const binary = metrics.requests.observer("binary");
    const http = metrics.requests.observer("http");
    binary("write", "ok", 0.002);
    binary("write", "ok", 0.004);
    binary("write", "TIMEOUT", 3);
    http("get", "200", 0.0004);
    // A second observer for a protocol adds to the same counts.
    metrics.requests.observer("binary")("write", "ok", 0.001);
    const text = await metrics.registry.metrics();
    expect(text).toContain('kvraft_kv_requests_total{protocol="binary",op="write",result="ok"} 3');
    expect(text).toContain('kvraft_kv_requests_total{protocol="binary",op="write",result="TIMEOUT"} 1');
    expect(text).toContain('kvraft_kv_requests_total{protocol="http",op="get",result="200"} 1');
    expect(text).toMatch(/^# TYPE kvraft_kv_requests_total counter$/m);
    expect(text).toContain('kvraft_kv_request_seconds_count{protocol="binary",op="write"} 4');
    expect(text).toContain('kvraft_kv_request_seconds_bucket{le="0.0025",protocol="binary",op="write"} 2');
    expect(text).toContain('kvraft_kv_request_seconds_count{protocol="http",op="get"} 1');
    // Scraped twice, the counts stay what they are (the counter is refilled, not added to).
    expect(await metrics.registry.metrics()).toContain('kvraft_kv_requests_total{protocol="binary",op="write",result="ok"} 3');
  });
});
