/**
 * Writes the KVRaft dashboard's JSON (kvraft-dashboard.ts is the source) to the two places
 * it is read from: dashboards/kvraft.json, for importing into Grafana by hand, and the
 * chart's copy, which its ConfigMap carries to Grafana's dashboard sidecar. Both are
 * committed; test/chart/dashboard.test.ts fails when either differs from a fresh run, so
 * edit the TypeScript, never the JSON:
 *
 *   npx tsx dashboards/generate.ts
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { kvraftDashboard } from "./kvraft-dashboard.js";

const here = dirname(fileURLToPath(import.meta.url));

export const DASHBOARD_FILES: readonly string[] = [
  join(here, "kvraft.json"),
  join(here, "..", "charts", "kvraft-operator", "dashboards", "kvraft.json"),
];

/** The file's text: two-space indentation and a final newline. */
export function dashboardText(): string {
  return `${JSON.stringify(kvraftDashboard(), null, 2)}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const file of DASHBOARD_FILES) writeFileSync(file, dashboardText());
  process.stdout.write(`wrote ${DASHBOARD_FILES.length} copies of the dashboard\n`);
}
