/**
 * The PromQL the dashboard's panels are written in: which series belong to which process,
 * and the few shapes of query every row repeats. Plain strings, so a test can read each
 * query back and run it through a real Prometheus.
 *
 * A KVRaftCluster NAME runs server pods NAME-0, NAME-1, ... and one coordinator pod of the
 * Deployment NAME-coord (NAME-coord-<replicaset>-<suffix>); the "cluster" variable is NAME.
 */

/** The servers of the chosen clusters. */
export const SERVER = 'namespace=~"$namespace", pod=~"$cluster-[0-9]+"';
/** The coordinators of the chosen clusters. */
export const COORDINATOR = 'namespace=~"$namespace", pod=~"$cluster-coord-.+"';
/** The operator runs once for every cluster, in its own namespace: its series are not filtered. */
export const OPERATOR = "";

/** The process names prom-client's default metrics carry after `kvraft_` (src/process-metrics.ts). */
export const COMPONENTS = [
  { prefix: "kvraft_server_", selector: SERVER, name: "server" },
  { prefix: "kvraft_coord_", selector: COORDINATOR, name: "coordinator" },
  { prefix: "kvraft_operator_", selector: OPERATOR, name: "operator" },
] as const;

/** Grafana's window for rate(): at least four scrapes, whatever the zoom. */
const RATE_WINDOW = "$__rate_interval";

/** `metric{selector}`, or the bare name when there is nothing to select on. */
export function series(metric: string, selector: string): string {
  return selector === "" ? metric : `${metric}{${selector}}`;
}

function byClause(labels: readonly string[]): string {
  return labels.length === 0 ? "" : ` by (${labels.join(", ")})`;
}

/** The per-second rate of a counter, summed over `by` (none: one series). */
export function rateBy(counter: string, selector: string, by: readonly string[]): string {
  return `sum${byClause(by)} (rate(${series(counter, selector)}[${RATE_WINDOW}]))`;
}

/** How much a counter grew in one window, summed over `by`: for events rarer than one a second. */
export function increaseBy(counter: string, selector: string, by: readonly string[]): string {
  return `sum${byClause(by)} (increase(${series(counter, selector)}[${RATE_WINDOW}]))`;
}

/** The 99th percentile of a histogram, per `by` (none: over every series); `le` is added here, once. */
export function p99(histogram: string, selector: string, by: readonly string[]): string {
  return `histogram_quantile(0.99, ${rateBy(`${histogram}_bucket`, selector, ["le", ...by.filter((label) => label !== "le")])})`;
}

/** A histogram's mean over the window: the rate of its sum over the rate of its count. */
export function meanBy(histogram: string, selector: string, by: readonly string[]): string {
  return `${rateBy(`${histogram}_sum`, selector, by)} / ${rateBy(`${histogram}_count`, selector, by)}`;
}
