/**
 * The chart as the tests see it: helm (built from its Go module, tools/go/helm) run on
 * charts/kvraft-operator, its output parsed into objects.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { toolBinary } from "../../tools/go-tools.mjs";
import type { KubeObject } from "../../src/operator/types.js";

export const REPO_ROOT = join(import.meta.dirname, "..", "..");
export const CHART_DIR = join(REPO_ROOT, "charts", "kvraft-operator");
export const RELEASE = "kvr";
export const NAMESPACE = "kvraft-system";

/** Every optional feature of the chart switched on (helm --set). */
export const ALL_FEATURES = [
  "podMonitor.enabled=true",
  "podMonitor.namespace=monitoring",
  "podMonitor.labels.release=kube-prometheus-stack",
  "operator.monitoringNamespace=observability",
  "grafanaDashboard.enabled=true",
  "grafanaDashboard.namespace=monitoring",
  "prometheusRule.enabled=true",
  "prometheusRule.labels.release=kube-prometheus-stack",
  "operator.watchNamespace=apps",
  "podDisruptionBudget.enabled=true",
  "imagePullSecrets[0].name=registry",
  "priorityClassName=system-cluster-critical",
  "podLabels.team=storage",
  "podAnnotations.note=kept",
  "nodeSelector.disk=ssd",
  "tolerations[0].key=dedicated",
  "tolerations[0].operator=Exists",
  "serviceAccount.annotations.owner=storage",
];

/** A cold build of helm takes a few minutes on 2 cores; a cached one is instant. */
export const HELM_BUILD_TIMEOUT_MS = 20 * 60_000;

const run = promisify(execFile);

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs helm. Without a kubeconfig by default: lint and template must work without a
 * cluster. Helm's own cache, config and data stay out of the user's home.
 */
export async function helm(args: readonly string[], kubeconfig = join(tmpdir(), "kvraft-chart-test-no-kubeconfig")): Promise<HelmResult> {
  const binary = await toolBinary("helm", "helm");
  const home = join(tmpdir(), "kvraft-chart-test-helm");
  const env = { ...process.env, KUBECONFIG: kubeconfig, HELM_CACHE_HOME: join(home, "cache"), HELM_CONFIG_HOME: join(home, "config"), HELM_DATA_HOME: join(home, "data") };
  try {
    const { stdout, stderr } = await run(binary, [...args], { env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : 1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

const setFlags = (sets: readonly string[]): string[] => sets.flatMap((s) => ["--set", s]);

/** `helm template` of the chart with these --set values; throws with helm's message on failure. */
export async function renderChart(sets: readonly string[] = [], extra: readonly string[] = [], chartDir = CHART_DIR): Promise<KubeObject[]> {
  const result = await helm(["template", RELEASE, chartDir, "--namespace", NAMESPACE, ...setFlags(sets), ...extra]);
  if (result.code !== 0) throw new Error(`helm template failed (exit ${result.code}): ${result.stderr}`);
  return parseManifests(result.stdout);
}

export function parseManifests(text: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${doc.errors[0]?.message ?? ""}`);
    const value = doc.toJS() as KubeObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

/**
 * NOTES.txt as `helm install` would print it. helm template does not render notes and
 * install wants a cluster, so a scratch copy of the chart gets one more template that
 * renders the notes' text (with the chart's own helpers) into a ConfigMap.
 */
export async function renderNotes(sets: readonly string[] = []): Promise<string> {
  const scratch = mkdtempSync(join(tmpdir(), "kvraft-chart-notes-"));
  try {
    const chart = join(scratch, "kvraft-operator");
    cpSync(CHART_DIR, chart, { recursive: true });
    cpSync(join(chart, "templates", "NOTES.txt"), join(chart, "notes-under-test.txt"));
    writeFileSync(join(chart, "templates", "zz-notes-under-test.yaml"),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get "notes-under-test.txt") . | toJson }}\n');
    const [notes] = await renderChart(sets, ["--show-only", "templates/zz-notes-under-test.yaml"], chart);
    const text = (notes?.["data"] as Record<string, string> | undefined)?.["notes"];
    if (text === undefined) throw new Error("the notes did not render");
    return text;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function byKind(objects: readonly KubeObject[], kind: string): KubeObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function onlyOne(objects: readonly KubeObject[], kind: string): KubeObject {
  const found = byKind(objects, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, the chart rendered ${found.length}`);
  return found[0] as KubeObject;
}
