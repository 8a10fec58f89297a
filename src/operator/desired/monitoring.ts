import type { ClusterSpec, NamespaceSource } from "../types.js";
import { labelProblems, namespaceNameProblem } from "./label-rules.js";
import type { DesiredOptions } from "./options.js";
import { DEFAULT_MONITORING_NAMESPACE } from "./options.js";

/** Bounds of spec.monitoring (as the CRD's, and as spec.networkPolicy's lists). */
export const MONITORING_LIMITS = { allowedNamespacesMax: 32, labelsMax: 16 } as const;

/**
 * Label keys the operator puts on everything it owns and finds its objects by: a
 * PodMonitor labelled otherwise by the spec would be lost to it.
 */
export const OPERATOR_LABEL_KEYS: readonly string[] = [
  "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app.kubernetes.io/managed-by",
];

export interface ResolvedMonitoring {
  /** PodMonitors are made: asked for, and the Prometheus operator's CRD is served. */
  readonly podMonitors: boolean;
  readonly podMonitorLabels: Readonly<Record<string, string>>;
  /** Namespaces whose pods may reach the metrics ports; empty: none besides the clients. */
  readonly scrapeNamespaces: readonly NamespaceSource[];
  /** Only pods with these labels there; undefined: every pod. */
  readonly scrapePodLabels?: Readonly<Record<string, string>>;
}

type MonitoringOptions = Pick<DesiredOptions, "podMonitorAvailable" | "monitoringNamespace">;

/**
 * spec.monitoring with its defaults, checked (the CRD checks too; a spec from a file may
 * not have been). Without allowedNamespaces (or with an empty list) the scrapers are the operator's monitoring
 * namespace, admitted only while PodMonitors are made (as before these fields existed);
 * with them, those namespaces are admitted whether or not PodMonitors are made, for a
 * Prometheus that finds its targets another way.
 */
export function monitoringSettings(spec: ClusterSpec, options: MonitoringOptions): ResolvedMonitoring {
  const given = spec.monitoring ?? {};
  const problems = monitoringProblems(given);
  if (problems.length > 0) {
    throw new RangeError(`spec.monitoring is invalid: ${problems.join("; ")}. Correct these fields of the KVRaftCluster (kubectl edit kvr)`);
  }
  const podMonitors = given.podMonitor === true && options.podMonitorAvailable === true;
  const defaultNamespaces = podMonitors ? [{ name: options.monitoringNamespace ?? DEFAULT_MONITORING_NAMESPACE }] : [];
  const namespaces = given.allowedNamespaces ?? [];
  const podLabels = given.allowedPodLabels ?? {};
  return {
    podMonitors,
    podMonitorLabels: { ...given.podMonitorLabels },
    scrapeNamespaces: namespaces.length === 0 ? defaultNamespaces : namespaces,
    ...(Object.keys(podLabels).length === 0 ? {} : { scrapePodLabels: { ...podLabels } }),
  };
}

function monitoringProblems(given: NonNullable<ClusterSpec["monitoring"]>): string[] {
  const field = (name: string) => (problem: string): string => `spec.monitoring.${name}: ${problem}`;
  const labels = given.podMonitorLabels ?? {};
  const taken = Object.keys(labels).filter((key) => OPERATOR_LABEL_KEYS.includes(key));
  const namespaces = given.allowedNamespaces ?? [];
  return [
    ...labelProblems(labels, MONITORING_LIMITS.labelsMax).map(field("podMonitorLabels")),
    ...taken.map((key) => field("podMonitorLabels")(`"${key}" is set by the operator, which finds its objects by it; use another key`)),
    ...labelProblems(given.allowedPodLabels ?? {}, MONITORING_LIMITS.labelsMax).map(field("allowedPodLabels")),
    ...(namespaces.length > MONITORING_LIMITS.allowedNamespacesMax ? [field("allowedNamespaces")(`${namespaces.length} items, at most ${MONITORING_LIMITS.allowedNamespacesMax} allowed`)] : []),
    ...namespaces.flatMap((source, index) => namespaceSourceProblems(source).map(field(`allowedNamespaces[${index}]`))),
  ];
}

function namespaceSourceProblems(source: NamespaceSource): string[] {
  if ((source.name === undefined) === (source.matchLabels === undefined)) {
    return ["give a namespace's name or matchLabels for namespaces' labels, exactly one of the two"];
  }
  if (source.name !== undefined) return [namespaceNameProblem(source.name)].filter((p): p is string => p !== undefined);
  return labelProblems(source.matchLabels ?? {}, MONITORING_LIMITS.labelsMax);
}
