/**
 * The Grafana dashboard: built with Grafana's Foundation SDK by dashboards/generate.ts
 * (both committed copies are its output), every metric it queries is one the servers, the
 * coordinator or the operator registers, and every metric they register is on a panel. A
 * renamed or new metric breaks this test, not a panel nobody looks at.
 * (test/chart/dashboard-queries.test.ts runs every query through a real Prometheus.)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DASHBOARD_FILES, dashboardText } from "../../dashboards/generate.js";
import { REPO_ROOT } from "./chart-render.js";
import { isRegistered, metricsInExpression, registeredMetrics, repeatedGroupingLabels, withProcessMetrics, type RegisteredMetrics } from "./promql-names.js";

interface Panel {
  id: number; type: string; title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; refId: string }[];
}
interface Dashboard { uid: string; panels: Panel[]; templating: { list: { name: string; type: string; query: string }[] } }

const dashboard = JSON.parse(dashboardText()) as Dashboard;
const inSources = registeredMetrics(join(REPO_ROOT, "src"));
let registered: RegisteredMetrics = inSources;

function panelExpressions(): { title: string; expr: string }[] {
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ title: panel.title, expr: target.expr })));
}

function queriedMetrics(): Map<string, string> {
  const where = new Map<string, string>();
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) for (const name of metricsInExpression(target.expr)) where.set(name, `panel "${panel.title}"`);
  }
  for (const variable of dashboard.templating.list.filter((v) => v.type === "query")) {
    for (const name of metricsInExpression(variable.query)) where.set(name, `variable ${variable.name}`);
  }
  return where;
}

describe("the Grafana dashboard", () => {
  beforeAll(async () => {
    registered = await withProcessMetrics(inSources);
  });

  it("is what dashboards/generate.ts writes, in both copies (dashboards/ and the chart's)", () => {
    expect(DASHBOARD_FILES.map((f) => f.slice(REPO_ROOT.length + 1).replaceAll("\\", "/"))).toEqual(["dashboards/kvraft.json", "charts/kvraft-operator/dashboards/kvraft.json"]);
    for (const file of DASHBOARD_FILES) {
      expect(readFileSync(file, "utf8") === dashboardText(), `${file} is out of date: run \`npx tsx dashboards/generate.ts\``).toBe(true);
    }
  });

  it("reads PromQL metric names, leaving out functions, keywords, labels and ranges", () => {
    expect(metricsInExpression('histogram_quantile(0.99, sum by (le, pod) (rate(a_seconds_bucket{pod=~"$x-[0-9]+"}[$__rate_interval])))')).toEqual(new Set(["a_seconds_bucket"]));
    expect(metricsInExpression("sum(b) / on (pod) group_left count(c offset 5m) and bool d")).toEqual(new Set(["b", "c", "d"]));
    expect(metricsInExpression("label_values(kvraft_raft_term, namespace)")).toEqual(new Set(["kvraft_raft_term", "namespace"]));
  });

  it("queries only metrics the code registers", () => {
    // The sources' registrations are found at all (a broken finder would pass anything).
    for (const known of ["kvraft_raft_term", "kvraft_coord_members", "kvraft_kv_requests_total", "kvraft_operator_reconciles_total"]) expect(registered.all).toContain(known);
    expect(registered.histograms).toContain("kvraft_kv_request_seconds");
    expect(isRegistered("kvraft_kv_request_seconds_count", registered)).toBe(true);
    expect(isRegistered("kvraft_raft_term_bucket", registered), "a gauge has no buckets").toBe(false);
    expect(isRegistered("kvraft_no_such_metric", registered)).toBe(false);
    const queried = queriedMetrics();
    // label_values(metric, label) names a label as its second argument.
    queried.delete("namespace");
    queried.delete("pod");
    expect(queried.size).toBeGreaterThan(30);
    const unknown = [...queried].filter(([name]) => !isRegistered(name, registered)).map(([name, where]) => `${name} (${where})`);
    expect(unknown, "metrics the dashboard queries but no code registers").toEqual([]);
  });

  it("has a panel for every metric the servers, the coordinator and the operator register", () => {
    const queried = queriedMetrics();
    const shown = (name: string): boolean => queried.has(name) || ["bucket", "sum", "count"].some((part) => queried.has(`${name}_${part}`));
    expect(inSources.all.size).toBeGreaterThan(40);
    expect([...inSources.all].filter((name) => !shown(name)), "metrics no panel shows").toEqual([]);
    // Process health for each kind of process: CPU, memory and event-loop lag at least.
    for (const component of ["server", "coord", "operator"]) {
      for (const measure of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_p99_seconds"]) {
        expect(queried.has(`kvraft_${component}_${measure}`), `kvraft_${component}_${measure}`).toBe(true);
      }
    }
    // The check can fail: a metric no panel reads is reported.
    expect(shown("kvraft_no_panel_reads_this")).toBe(false);
  });

  it("groups by each label once (no `sum by (le, le)`)", () => {
    expect(repeatedGroupingLabels("histogram_quantile(0.99, sum by (le, le) (rate(x_bucket[1m])))"), "the checker finds a planted slip").toEqual(["by (le, le)"]);
    expect(repeatedGroupingLabels("sum without (a,b) (x) / sum by (b) (y)")).toEqual([]);
    const slips = panelExpressions().flatMap(({ title, expr }) => repeatedGroupingLabels(expr).map((clause) => `${title}: ${clause}`));
    expect(slips).toEqual([]);
  });

  it("shows the operator's reconciles, errors, duration and clusters by phase", () => {
    const queried = queriedMetrics();
    for (const name of ["kvraft_operator_reconciles_total", "kvraft_operator_reconcile_errors_total", "kvraft_operator_reconcile_duration_seconds_bucket", "kvraft_operator_clusters"]) {
      expect(queried.has(name), name).toBe(true);
    }
  });

  it("lays its panels out on Grafana's 24-column grid with unique ids and a data source variable", () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      if (panel.type !== "row") expect(panel.targets?.length ?? 0, panel.title).toBeGreaterThan(0);
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(["datasource", "namespace", "cluster"]);
    expect(JSON.stringify(dashboard)).not.toMatch(/"uid":\s*"(?!\$\{datasource\}|kvraft-overview)/);
  });
});
