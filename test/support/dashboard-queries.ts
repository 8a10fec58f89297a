/**
 * Every query of the Grafana dashboard as Grafana would send it to Prometheus (its
 * template variables replaced by the values a user picked), and which of them come back
 * empty: a panel with no data is a panel nobody can read.
 */
import { dashboardText } from "../../dashboards/generate.js";

/** One panel query, its variables replaced. */
export interface PanelQuery {
  readonly panel: string;
  readonly expr: string;
}

/** What Grafana puts in place of each variable: `$namespace`, `$cluster`, `$__rate_interval`... */
export type VariableValues = Readonly<Record<string, string>>;

interface DashboardJson {
  readonly panels: readonly { readonly title: string; readonly targets?: readonly { readonly expr: string }[] }[];
}

/** `$name` replaced by its value; the longest names first, so `$cluster_id` would not lose its `$cluster`. */
export function substitute(expr: string, values: VariableValues): string {
  const names = Object.keys(values).sort((a, b) => b.length - a.length);
  let out = expr;
  for (const name of names) out = out.replaceAll(`$${name}`, values[name] as string);
  const left = /\$\{?\w+/.exec(out);
  if (left !== null) throw new Error(`the query still holds the variable ${left[0]} (give it a value): ${out}`);
  return out;
}

/** Every target of every panel of the committed dashboard's generator, substituted. */
export function dashboardQueries(values: VariableValues, text = dashboardText()): PanelQuery[] {
  const dashboard = JSON.parse(text) as DashboardJson;
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => ({ panel: panel.title, expr: substitute(t.expr, values) })));
}

/** The queries that return no series, as "panel: query" lines for a failure message. */
export async function emptyQueries(queries: readonly PanelQuery[], run: (expr: string) => Promise<readonly unknown[]>): Promise<string[]> {
  const empty: string[] = [];
  for (const query of queries) if ((await run(query.expr)).length === 0) empty.push(`${query.panel}: ${query.expr}`);
  return empty;
}
