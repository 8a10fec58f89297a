/**
 * Every panel of the Grafana dashboard shows data (issue 18): a real Prometheus (built from
 * its Go module, tools/go/prometheus) scrapes a real three-member cluster, a real
 * coordinator process, and the operator's metrics, each labelled as in Kubernetes
 * (namespace, pod); traffic goes through HTTP, the binary protocol and memcached; then each
 * panel query, its variables replaced as Grafana replaces them, runs through Prometheus's
 * HTTP API and must return at least one sample that is a number (not NaN: a quantile over
 * a histogram nothing was observed in has no value to draw).
 *
 * The operator needs a Kubernetes API to reconcile anything, so its metrics are the real
 * OperatorMetrics registry served by the operator's own metrics server (serveMetrics) from
 * this process, with a reconcile recorded on it the way the controller records one.
 */
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Memcached from "memcached";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createClient } from "../../src/client/index.js";
import { RigProcess } from "../../src/devcluster/process.js";
import { OperatorMetrics, serveMetrics } from "../../src/operator/controller/metrics.js";
import { toolBinary } from "../../tools/go-tools.mjs";
import { dashboardQueries, emptyQueries, type PanelQuery } from "../support/dashboard-queries.js";
import { freePorts } from "../support/ports.js";
import { CLI, ProcessCluster } from "../support/process-cluster.js";
import { Prometheus } from "../support/prometheus.js";
import { waitFor } from "../support/wait.js";
import { dashboardText } from "../../dashboards/generate.js";

const NAMESPACE = "kvraft-test";
/** The KVRaftCluster's name: its pods are CLUSTER-0.., its coordinator's CLUSTER-coord-<replicaset>-<suffix>. */
const CLUSTER = "kv";
const SERVER_PODS = [`${CLUSTER}-0`, `${CLUSTER}-1`, `${CLUSTER}-2`];
const COORDINATOR_POD = `${CLUSTER}-coord-6c9f8d7b5-x7k2p`;
const OPERATOR_POD = "kvraft-operator-0";
const SCRAPE_INTERVAL = "1s";
/**
 * What Grafana sends for one namespace and one cluster picked. The rate window is a minute
 * (Grafana's default range step would make it shorter) so that the traffic stays in it for
 * as long as the test may wait for the slowest series.
 */
const VARIABLES = { namespace: NAMESPACE, cluster: CLUSTER, __rate_interval: "1m" };
/** Snapshots every few entries, so that the snapshot panels have snapshots to show. */
const SNAPSHOT_EVERY_ENTRIES = 25;
const DATA_TIMEOUT_MS = 90_000;
/** Well inside the one-minute rate window. */
const TRAFFIC_AGAIN_MS = 20_000;

interface Target {
  readonly job: string;
  readonly address: string;
  readonly namespace: string;
  readonly pod: string;
}

/** Static targets carrying the labels a Kubernetes pod scrape would (the dashboard selects on them). */
function prometheusConfig(targets: readonly Target[]): string {
  const jobs = [...new Set(targets.map((t) => t.job))];
  return stringify({
    global: { scrape_interval: SCRAPE_INTERVAL, evaluation_interval: SCRAPE_INTERVAL },
    scrape_configs: jobs.map((job) => ({
      job_name: job,
      static_configs: targets.filter((t) => t.job === job).map((t) => ({ targets: [t.address], labels: { namespace: t.namespace, pod: t.pod } })),
    })),
  });
}

/** One reconcile as the controller records it (src/operator/controller/operator.ts, reconciler.ts). */
function recordReconcile(metrics: OperatorMetrics): void {
  const endTimer = metrics.duration.startTimer();
  metrics.steps.inc({ kind: "AddLearner" });
  metrics.writes.inc({ kind: "StatefulSet" });
  metrics.setPhase(`${NAMESPACE}/${CLUSTER}`, "Running");
  endTimer();
  metrics.reconciles.inc({ result: "ok" });
  metrics.backups.inc({ phase: "Completed" });
  metrics.lastBackup.set({ cluster_namespace: NAMESPACE, cluster_name: CLUSTER }, Date.now() / 1000);
}

/** One callback-style memcached call as a promise. */
function memcachedCall<T>(fn: (done: (error: unknown, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((error, result) => (error ? reject(error as Error) : resolve(result))));
}

describe("every panel of the Grafana dashboard returns data from a real Prometheus", () => {
  let dir = "";
  let cluster: ProcessCluster | undefined;
  let coordinator: RigProcess | undefined;
  const operatorMetrics = new OperatorMetrics();
  let operatorServer: Server | undefined;
  let prometheus: Prometheus | undefined;
  const prom = (): Prometheus => {
    if (prometheus === undefined) throw new Error("Prometheus did not start");
    return prometheus;
  };
  /** An instant query's samples that are numbers. */
  const numbers = async (expr: string): Promise<readonly unknown[]> => (await prom().query(expr)).filter((sample) => sample.value[1] !== "NaN");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kvraft-dashboard-"));
    const [coordPort] = await freePorts(1) as [number];
    const coordinatorUrl = `http://127.0.0.1:${coordPort}`;
    coordinator = new RigProcess("coordinator", process.execPath, [CLI, "coord", "--port", String(coordPort), "--log-level", "warn"], join(dir, "coord.log"));
    const coord = coordinator;
    await waitFor("the coordinator's /healthz", async () => (await fetch(`${coordinatorUrl}/healthz`).catch(() => undefined))?.ok || undefined,
      20_000, 100, () => coord.assertAlive());
    cluster = await ProcessCluster.create(3, ["--coord", coordinatorUrl, "--snapshot-entries", String(SNAPSHOT_EVERY_ENTRIES)]);
    cluster.startAll();
    await cluster.waitForLeader();

    // This replica leads and its queue is empty, as after the operator's start.
    operatorMetrics.leader.set(1);
    operatorMetrics.queueDepth.set(0);
    recordReconcile(operatorMetrics);
    operatorServer = await serveMetrics(operatorMetrics, "127.0.0.1", 0, () => undefined);
    const operatorPort = (operatorServer.address() as AddressInfo).port;

    const running = cluster;
    const targets: Target[] = [
      ...SERVER_PODS.map((pod, i) => ({ job: "kvraft-servers", address: new URL(running.http(i + 1)).host, namespace: NAMESPACE, pod })),
      { job: "kvraft-coordinators", address: `127.0.0.1:${coordPort}`, namespace: NAMESPACE, pod: COORDINATOR_POD },
      { job: "kvraft-operator", address: `127.0.0.1:${operatorPort}`, namespace: "kvraft-system", pod: OPERATOR_POD },
    ];
    prometheus = await Prometheus.start(await toolBinary("prometheus", "prometheus"), join(dir, "prometheus"), prometheusConfig(targets));
    await waitFor("every process to be scraped", async () => ((await prom().upTargets()).length === targets.length ? true : undefined), 30_000, 250);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await new Promise<void>((resolve) => (operatorServer === undefined ? resolve() : operatorServer.close(() => resolve())));
    await coordinator?.stop();
    await cluster?.stop();
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  /**
   * Twenty writes (and reads) through each protocol and a reconcile: enough entries for a
   * snapshot (every SNAPSHOT_EVERY_ENTRIES), and events for every rate() and histogram panel.
   */
  const traffic = async (round: number): Promise<void> => {
    if (cluster === undefined) throw new Error("the cluster did not start");
    const c = cluster;
    for (let i = 0; i < 20; i++) {
      const id = (i % 3) + 1;
      expect((await fetch(`${c.http(id)}/v1/kv/http-${i}`, { method: "PUT", body: `v${round}-${i}` })).status).toBe(200);
      expect(await (await fetch(`${c.http(id)}/v1/kv/http-${i}`)).text()).toBe(`v${round}-${i}`);
    }
    const client = createClient({ endpoints: [...c.ports.values()].map((p) => `127.0.0.1:${p.client}`), deadlineMs: 15_000 });
    try {
      for (let i = 0; i < 20; i++) await client.put(`binary-${i}`, `v${round}-${i}`);
      expect((await client.get("binary-19"))?.text()).toBe(`v${round}-19`);
    } finally {
      await client.close();
    }
    const memcached = new Memcached(`127.0.0.1:${(c.ports.get(1) as { memcached: number }).memcached}`, { retries: 0, timeout: 5_000 });
    try {
      for (let i = 0; i < 20; i++) await memcachedCall((done) => memcached.set(`mc-${i}`, `v${round}-${i}`, 0, done));
      expect(await memcachedCall((done) => memcached.get("mc-19", done))).toBe(`v${round}-19`);
    } finally {
      memcached.end();
    }
    recordReconcile(operatorMetrics);
  };

  it("puts traffic through HTTP, the binary protocol and memcached, and has the operator reconcile", async () => {
    await traffic(0);
  }, 60_000);

  it("answers every panel query with data, for the namespace and cluster the variables list", async () => {
    const queries = dashboardQueries(VARIABLES);
    expect(queries.length).toBeGreaterThan(60);
    // rate() and increase() need two scrapes in their window; GC and request series need their events.
    // A loaded machine may take longer than the rate window to see every series: more
    // traffic every TRAFFIC_AGAIN_MS keeps the rate() and histogram panels' events inside it.
    let round = 0;
    let lastTrafficMs = Date.now();
    const empty = await waitFor("every dashboard query to return data", async () => {
      const now = await emptyQueries(queries, numbers);
      if (now.length === 0) return now;
      if (Date.now() - lastTrafficMs > TRAFFIC_AGAIN_MS) {
        await traffic(++round);
        lastTrafficMs = Date.now();
      }
      return undefined;
    }, DATA_TIMEOUT_MS, 1_000).catch(() => emptyQueries(queries, numbers));
    expect(empty, `panel queries that returned no data:\n${empty.join("\n")}`).toEqual([]);
  }, DATA_TIMEOUT_MS + 30_000);

  it("lists the namespace and the cluster in the dashboard's variables", async () => {
    const variables = (JSON.parse(dashboardText()) as { templating: { list: { name: string; query?: string; regex?: string }[] } }).templating.list;
    const values = async (name: string): Promise<string[]> => {
      const variable = variables.find((v) => v.name === name);
      const parsed = /^label_values\((.+), (\w+)\)$/.exec(variable?.query ?? "");
      if (parsed === null) throw new Error(`variable ${name}: expected label_values(SELECTOR, LABEL), got ${variable?.query}`);
      const selector = (parsed[1] as string).replaceAll("$namespace", NAMESPACE);
      const response = await fetch(`${prom().url}/api/v1/label/${parsed[2]}/values?match[]=${encodeURIComponent(selector)}`);
      const found = ((await response.json()) as { data: string[] }).data;
      const regex = /^\/(.*)\/$/.exec(variable?.regex ?? "")?.[1];
      return [...new Set(regex === undefined ? found : found.flatMap((v) => new RegExp(regex).exec(v)?.[1] ?? []))];
    };
    expect(await values("namespace")).toEqual([NAMESPACE]);
    expect(await values("cluster")).toEqual([CLUSTER]);
  });

  it("reports a query that returns nothing (the check can fail)", async () => {
    const planted: PanelQuery[] = [
      { panel: "Planted", expr: `sum(rate(kvraft_no_such_metric_total{namespace="${NAMESPACE}"}[15s]))` },
      { panel: "Wrong cluster", expr: 'max(kvraft_raft_term{pod=~"other-[0-9]+"})' },
      { panel: "NaN only", expr: `max(kvraft_raft_term{namespace="${NAMESPACE}"}) * 0 / 0` },
      { panel: "Real", expr: `max(kvraft_raft_term{namespace="${NAMESPACE}"})` },
    ];
    expect(await emptyQueries(planted, numbers)).toEqual([
      `Planted: sum(rate(kvraft_no_such_metric_total{namespace="${NAMESPACE}"}[15s]))`,
      'Wrong cluster: max(kvraft_raft_term{pod=~"other-[0-9]+"})',
      `NaN only: max(kvraft_raft_term{namespace="${NAMESPACE}"}) * 0 / 0`,
    ]);
  });
});
