/**
 * Metric names, on both sides: those a PromQL expression reads, and those the code
 * registers with prom-client (found in the sources, where every KVRaft metric is
 * registered under a literal name).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Histogram, Registry } from "prom-client";
import { registerProcessMetrics, type MetricsComponent } from "../../src/process-metrics.js";

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"]);

/** The metric names one PromQL expression selects (functions, keywords and label names left out). */
export function metricsInExpression(expr: string): Set<string> {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "\"\"") // label values (they may hold anything)
    .replace(/\{[^}]*\}/g, " ") // label matchers
    .replace(/\[[^\]]*\]/g, " ") // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " "); // label lists
  const names = new Set<string>();
  // An identifier starts a token: the "m" of a duration "5m" is not one.
  for (const match of stripped.matchAll(/(?<![\w:.])[a-zA-Z_:][\w:]*/g)) {
    const name = match[0];
    const after = stripped.slice((match.index ?? 0) + name.length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(name.toLowerCase())) continue; // a function or a keyword
    names.add(name);
  }
  return names;
}

export interface RegisteredMetrics {
  readonly all: ReadonlySet<string>;
  readonly histograms: ReadonlySet<string>;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** Every metric name registered in src/: `name: "kvraft_..."` of prom-client, and the replica's gauge and counter helpers. */
export function registeredMetrics(srcDir: string): RegisteredMetrics {
  const all = new Set<string>();
  const histograms = new Set<string>();
  for (const file of sourceFiles(srcDir)) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/(?:\bname:\s*|\.(?:gauge|labelledGauge|counter|labelledCounter)\(\s*)"(kvraft_[a-z0-9_]+)"/g)) all.add(match[1] as string);
    for (const match of text.matchAll(/new Histogram\(\{\s*name:\s*"(kvraft_[a-z0-9_]+)"/g)) histograms.add(match[1] as string);
  }
  return { all, histograms };
}

/** Whether a series name exists: a registered metric, or a histogram's _bucket, _sum or _count. */
export function isRegistered(name: string, registered: RegisteredMetrics): boolean {
  if (registered.all.has(name)) return true;
  const histogram = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
  return histogram !== undefined && registered.histograms.has(histogram);
}

/**
 * The registered metrics with every process's own (prom-client's process and Node.js
 * metrics under kvraft_<component>_, src/process-metrics.ts): their names are made by a
 * prefix at run time, so they are read from a registry rather than from the sources.
 */
export async function withProcessMetrics(registered: RegisteredMetrics): Promise<RegisteredMetrics> {
  const all = new Set(registered.all);
  const histograms = new Set(registered.histograms);
  for (const component of ["server", "coord", "operator"] satisfies MetricsComponent[]) {
    const registry = new Registry();
    registerProcessMetrics(registry, component);
    for (const metric of await registry.getMetricsAsJSON()) {
      all.add(metric.name);
      if (registry.getSingleMetric(metric.name) instanceof Histogram) histograms.add(metric.name);
    }
  }
  return { all, histograms };
}

/** `by (...)`/`without (...)` clauses that name a label twice, such as `sum by (le, le)`. */
export function repeatedGroupingLabels(expr: string): string[] {
  const repeated: string[] = [];
  for (const match of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    const labels = (match[1] as string).split(",").map((label) => label.trim()).filter((label) => label !== "");
    if (new Set(labels).size !== labels.length) repeated.push(match[0]);
  }
  return repeated;
}
