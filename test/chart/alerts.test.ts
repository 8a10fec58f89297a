/**
 * KVRaft's alerts (issue 18): the plain rules file (charts/kvraft-operator/alerts/kvraft.rules.yml,
 * the one copy) passes `promtool check rules`; its unit tests (alerts.promtool.yml here,
 * every alert firing and not firing) pass `promtool test rules`, and fail when a rule is
 * changed; every metric a rule reads is one the code registers; every alert has its
 * summary, description, severity and a runbook section in docs/ALERTS.md; and the chart
 * with prometheusRule.enabled renders a PrometheusRule holding exactly these rules.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { parse, stringify } from "yaml";
import { registerProcessMetrics } from "../../src/process-metrics.js";
import { toolBinary } from "../../tools/go-tools.mjs";
import { byKind, CHART_DIR, HELM_BUILD_TIMEOUT_MS, helm, NAMESPACE, onlyOne, renderChart, REPO_ROOT } from "./chart-render.js";
import { isRegistered, metricsInExpression, registeredMetrics } from "./promql-names.js";

const RULES_FILE = join(CHART_DIR, "alerts", "kvraft.rules.yml");
const UNIT_TESTS_FILE = join(import.meta.dirname, "alerts.promtool.yml");
const RUNBOOKS_FILE = join(REPO_ROOT, "docs", "ALERTS.md");

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup { name: string; rules: AlertRule[] }
interface RulesFile { groups: RuleGroup[] }
interface UnitTests {
  rule_files: string[];
  tests: { name: string; alert_rule_test: { eval_time: string; alertname: string; exp_alerts: unknown[] }[] }[];
}

const rulesText = readFileSync(RULES_FILE, "utf8");
const rules = parse(rulesText) as RulesFile;
const alerts = rules.groups.flatMap((g) => g.rules);

/** The alerts every item of the issue asks for (and a full disk). */
const REQUIRED_ALERTS = [
  "KVRaftNoLeader", "KVRaftFrequentLeaderChanges", "KVRaftFollowerLagging", "KVRaftSlowFsync", "KVRaftApplyLag",
  "KVRaftQuotaNearlyFull", "KVRaftMemberNonVoting", "KVRaftClusterDegraded", "KVRaftOperatorReconcileErrors", "KVRaftDiskFull",
];

async function promtool(args: readonly string[], cwd?: string): Promise<{ code: number; output: string }> {
  const binary = await toolBinary("prometheus", "promtool");
  return new Promise((resolve, reject) => {
    execFile(binary, [...args], { encoding: "utf8", timeout: 60_000, cwd }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      if (code === -1) reject(error as Error);
      else resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

describe("KVRaft's alerts", () => {
  let scratch = "";
  beforeAll(() => { scratch = mkdtempSync(join(tmpdir(), "kvraft-alerts-")); });
  afterAll(() => { rmSync(scratch, { recursive: true, force: true }); });

  it("has one rule per item of the issue, every one an alert with a severity, a summary, a description and its runbook", () => {
    const names = alerts.map((a) => a.alert);
    expect(new Set(names).size, "alert names are unique").toBe(names.length);
    for (const required of REQUIRED_ALERTS) expect(names).toContain(required);
    for (const alert of alerts) {
      expect(alert.alert, JSON.stringify(alert)).toMatch(/^KVRaft[A-Z][A-Za-z]+$/);
      expect(["warning", "critical"], alert.alert).toContain(alert.labels?.["severity"]);
      expect(alert.annotations?.["summary"], alert.alert).toBeTruthy();
      expect(alert.annotations?.["description"], alert.alert).toBeTruthy();
      expect(alert.annotations?.["runbook_url"], alert.alert).toBe(`docs/ALERTS.md#${alert.alert.toLowerCase()}`);
    }
  });

  it("passes promtool check rules", async () => {
    const result = await promtool(["check", "rules", RULES_FILE]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(`SUCCESS: ${alerts.length} rules found`);
  }, HELM_BUILD_TIMEOUT_MS);

  it("passes its unit tests (promtool test rules), which see every alert fire and not fire", async () => {
    const tests = parse(readFileSync(UNIT_TESTS_FILE, "utf8")) as UnitTests;
    expect(tests.rule_files).toEqual(["../../charts/kvraft-operator/alerts/kvraft.rules.yml"]);
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert.alert);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${alert.alert} is seen firing`).toBe(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${alert.alert} is seen not firing`).toBe(true);
    }
    const result = await promtool(["test", "rules", UNIT_TESTS_FILE]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain("SUCCESS");
  }, HELM_BUILD_TIMEOUT_MS);

  it("has unit tests that fail when a rule changes (the checker can fail)", async () => {
    const unitTests = readFileSync(UNIT_TESTS_FILE, "utf8").replace("../../charts/kvraft-operator/alerts/kvraft.rules.yml", "kvraft.rules.yml");
    writeFileSync(join(scratch, "alerts.promtool.yml"), unitTests);
    for (const [from, to] of [["expr: kvraft_raft_non_voting == 1\n        for: 15m", "expr: kvraft_raft_non_voting == 1\n        for: 10m"], ["> 0.01", "> 0.03"]] as const) {
      expect(rulesText.split(from)).toHaveLength(2);
      writeFileSync(join(scratch, "kvraft.rules.yml"), rulesText.replace(from, to));
      const result = await promtool(["test", "rules", "alerts.promtool.yml"], scratch);
      expect(result.code, `${from} -> ${to}`).not.toBe(0);
      expect(result.output).toContain("FAILED");
    }
  }, HELM_BUILD_TIMEOUT_MS);

  it("reads only metrics the servers and the operator register", () => {
    const registered = registeredMetrics(join(REPO_ROOT, "src"));
    const read = new Map<string, string>();
    for (const alert of alerts) for (const name of metricsInExpression(alert.expr)) read.set(name, alert.alert);
    expect(read.size).toBeGreaterThanOrEqual(12);
    expect(read.get("kvraft_storage_fsync_seconds_bucket")).toBe("KVRaftSlowFsync");
    const unknown = [...read].filter(([name]) => !isRegistered(name, registered)).map(([name, alert]) => `${name} (${alert})`);
    expect(unknown, "metrics a rule reads but no code registers").toEqual([]);
    // The annotations name metrics too (the description of what fires).
    const inText = alerts.flatMap((a) => [...`${a.annotations?.["description"] ?? ""}`.matchAll(/kvraft_[a-z_]+/g)].map((m) => m[0]));
    expect(inText.filter((name) => !isRegistered(name, registered))).toEqual([]);
  });

  it("has a runbook section in docs/ALERTS.md for every alert, and none for an alert that does not exist", () => {
    const runbooks = readFileSync(RUNBOOKS_FILE, "utf8");
    const sections = [...runbooks.matchAll(/^## (\S+)$/gm)].map((m) => m[1] as string);
    expect(sections.sort()).toEqual(alerts.map((a) => a.alert).sort());
    const registered = registeredMetrics(join(REPO_ROOT, "src"));
    // The process and Node.js metrics are registered under a prefix: ask prom-client for their names.
    const processMetrics = new Set<string>();
    for (const component of ["server", "coord", "operator"] as const) {
      const registry = new Registry();
      registerProcessMetrics(registry, component);
      for (const metric of registry.getMetricsAsArray()) processMetrics.add(metric.name);
    }
    const named = [...runbooks.matchAll(/`(kvraft_[a-z_]+)/g)].map((m) => m[1] as string);
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((name) => !isRegistered(name, registered) && !processMetrics.has(name)), "metrics the runbooks name").toEqual([]);
  });

  it("the chart renders no PrometheusRule by default", async () => {
    expect(byKind(await renderChart(), "PrometheusRule")).toEqual([]);
  }, HELM_BUILD_TIMEOUT_MS);

  it("the chart renders these rules as a PrometheusRule with prometheusRule.enabled, labelled and placed as told, which promtool accepts", async () => {
    const base = "https://git.example.com/kvraft/blob/main/";
    const objects = await renderChart(["prometheusRule.enabled=true", "prometheusRule.namespace=monitoring", "prometheusRule.labels.release=kube-prometheus-stack", `prometheusRule.runbookBaseUrl=${base}`]);
    const rule = onlyOne(objects, "PrometheusRule");
    expect(rule.apiVersion).toBe("monitoring.coreos.com/v1");
    expect(rule.metadata.namespace).toBe("monitoring");
    expect(rule.metadata.labels).toMatchObject({ release: "kube-prometheus-stack", "app.kubernetes.io/managed-by": "Helm" });
    const spec = rule["spec"] as RulesFile;
    const linked = rules.groups.map((g) => ({
      ...g,
      rules: g.rules.map((r) => ({ ...r, annotations: { ...r.annotations, runbook_url: `${base}${r.annotations?.["runbook_url"] ?? ""}` } })),
    }));
    expect(spec).toEqual({ groups: linked });
    // The PrometheusRule's spec is a rules file Prometheus loads.
    writeFileSync(join(scratch, "rendered.rules.yml"), stringify(spec));
    const check = await promtool(["check", "rules", join(scratch, "rendered.rules.yml")]);
    expect(check.code, check.output).toBe(0);

    // Without a base URL the runbook links stay the repository's paths.
    const plain = onlyOne(await renderChart(["prometheusRule.enabled=true"]), "PrometheusRule");
    expect(plain.metadata.namespace).toBe(NAMESPACE);
    expect(plain["spec"]).toEqual(rules);
  }, HELM_BUILD_TIMEOUT_MS);

  it("the chart refuses a runbook base URL that is no URL ending in /", async () => {
    const result = await helm(["template", "kvr", CHART_DIR, "--set", "prometheusRule.runbookBaseUrl=docs"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("runbookBaseUrl");
  }, HELM_BUILD_TIMEOUT_MS);
});
