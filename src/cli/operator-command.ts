import type { Command } from "commander";
import { Option } from "commander";
import { FAILPOINT_ENV, FAILPOINT_EXIT_CODE } from "../operator/controller/failpoint.js";
import { PAUSE_ANNOTATION } from "../operator/types.js";
import { loadOnRun } from "./load-on-run.js";

/** The flags of `kvraft operator`, as commander parses them. */
export interface OperatorFlags {
  kubeconfig?: string; namespace: string; metricsHost: string; metricsPort: string;
  leaderElect: boolean; leaseName: string; leaseNamespace: string; identity?: string;
  leaseDurationSeconds: string; renewDeadlineMs: string; retryPeriodMs: string;
  adminEndpointOverride?: string; adminDeadlineMs: string; quorumGoneAfterMs: string; clusterDomain: string; monitoringNamespace: string;
  operatorNamespace: string; operatorPodLabels: string; resyncSeconds: string; logLevel: string;
}

const opt = (flags: string, description: string, env: string, defaultValue?: string): Option => {
  const option = new Option(flags, description).env(env);
  return defaultValue === undefined ? option : option.default(defaultValue);
};

export function registerOperatorCommand(program: Command): void {
  program.command("operator")
    .description("run the Kubernetes operator: reconciles KVRaftCluster resources (membership first, one change at a time)")
    .addOption(opt("--kubeconfig <path>", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else the pod's service account)", "KVRAFT_OPERATOR_KUBECONFIG"))
    .addOption(opt("--namespace <ns>", "watch one namespace, or 'all'", "KVRAFT_OPERATOR_NAMESPACE", "all"))
    .addOption(opt("--metrics-host <host>", "address for /metrics and /healthz", "KVRAFT_OPERATOR_METRICS_HOST", "0.0.0.0"))
    .addOption(opt("--metrics-port <port>", "port for /metrics and /healthz (0: pick one)", "KVRAFT_OPERATOR_METRICS_PORT", "8080"))
    .addOption(new Option("--leader-elect", "campaign on a Lease so only one replica reconciles (run two for availability)").env("KVRAFT_OPERATOR_LEADER_ELECT").default(false))
    .addOption(opt("--lease-name <name>", "the Lease (coordination.k8s.io) replicas campaign on", "KVRAFT_OPERATOR_LEASE_NAME", "kvraft-operator"))
    .addOption(opt("--lease-namespace <ns>", "the Lease's namespace", "KVRAFT_OPERATOR_LEASE_NAMESPACE", process.env["POD_NAMESPACE"] ?? "default"))
    .addOption(opt("--identity <id>", "this replica's name in the Lease (default: $POD_NAME, else host and pid)", "POD_NAME"))
    .addOption(opt("--lease-duration-seconds <s>", "a leader that stops renewing is replaced after this long", "KVRAFT_OPERATOR_LEASE_DURATION_SECONDS", "15"))
    .addOption(opt("--renew-deadline-ms <ms>", "a leader that cannot renew for this long steps down (and exits)", "KVRAFT_OPERATOR_RENEW_DEADLINE_MS", "10000"))
    .addOption(opt("--retry-period-ms <ms>", "how often replicas try to acquire or renew", "KVRAFT_OPERATOR_RETRY_PERIOD_MS", "2000"))
    .addOption(opt("--admin-endpoint-override <template>", "reach the servers' admin API here instead of each pod's DNS name; {pod} {ordinal} {name} {namespace} are filled in (tests point it at a double)", "KVRAFT_OPERATOR_ADMIN_ENDPOINT"))
    .addOption(opt("--admin-deadline-ms <ms>", "deadline of one admin API call", "KVRAFT_OPERATOR_ADMIN_DEADLINE_MS", "5000"))
    .addOption(opt("--quorum-gone-after-ms <ms>", "a voter silent this long counts as gone for good (as one whose claim is deleted): when a majority is, the cluster gets the QuorumLost condition and Event, and nothing else happens (docs/DISASTER-RECOVERY.md); 60000 to 604800000", "KVRAFT_OPERATOR_QUORUM_GONE_AFTER_MS", "600000"))
    .addOption(opt("--cluster-domain <domain>", "the Kubernetes cluster's DNS domain", "KVRAFT_OPERATOR_CLUSTER_DOMAIN", "cluster.local"))
    .addOption(opt("--monitoring-namespace <ns>", "where Prometheus runs: its pods may scrape a cluster whose spec.monitoring.allowedNamespaces names none", "KVRAFT_OPERATOR_MONITORING_NAMESPACE", "monitoring"))
    .addOption(opt("--operator-namespace <ns>", "where the operator runs (its pods may reach the admin API through the NetworkPolicy)", "POD_NAMESPACE", "default"))
    .addOption(opt("--operator-pod-labels <k=v,...>", "the operator pods' labels, for the NetworkPolicy", "KVRAFT_OPERATOR_POD_LABELS", "app.kubernetes.io/name=kvraft-operator"))
    .addOption(opt("--resync-seconds <s>", "look at every cluster at least this often, events or not", "KVRAFT_OPERATOR_RESYNC_SECONDS", "60"))
    .addOption(opt("--log-level <level>", "trace, debug, info, warn, error", "KVRAFT_LOG_LEVEL", "info"))
    .addHelpText("after", `
What it does:
  Watches KVRaftCluster resources (kubectl get kvr) and everything they own, and moves
  each cluster toward its spec one step at a time: membership first (through the servers'
  admin API), never below quorum, the leader last. Scale out adds a learner, grows the
  StatefulSet, waits for it to catch up and promotes it; scale in hands leadership away if
  needed, removes the member, then shrinks the StatefulSet. A member whose volume was
  lost is removed and added again as a learner. Every decision is an Event
  (kubectl describe kvr NAME) and the status shows phase, conditions, leader and members.

  Writes are server-side applies with field manager "kvraft-operator"; a reconcile with
  nothing changed writes nothing. Errors are retried with exponential backoff.

Running two replicas:
  --leader-elect makes replicas campaign on a Lease; one reconciles, the other waits and
  takes over within --lease-duration-seconds when the leader dies (at once when it stops
  cleanly: it releases the Lease). A leader that cannot renew steps down and exits 1.

Pausing one cluster:
  kubectl annotate kvr NAME ${PAUSE_ANNOTATION}=true       # stop reconciling it
  kubectl annotate kvr NAME ${PAUSE_ANNOTATION}-           # resume

Endpoints (--metrics-port):
  /metrics   kvraft_operator_reconciles_total, _reconcile_errors_total,
             _reconcile_duration_seconds, _clusters{phase}, _plan_steps_total{kind},
             _api_writes_total{kind}, _leader, _queue_depth
  /healthz   200 while every informer is synced and watching; 503 with the reason when
             one has not synced 90 s after start or has failed for over 60 s

Examples:
  kvraft operator --kubeconfig ~/.kube/config --namespace default --metrics-port 9090
  kvraft operator --leader-elect --lease-namespace kvraft-system     # in a pod (the chart does this)
  kubectl apply -f examples/cluster.yaml && kubectl get kvr

Tests only: ${FAILPOINT_ENV}=after-add-learner (or after-<step>) exits with ${FAILPOINT_EXIT_CODE} right
after carrying out that step, to show the next operator finishes the change.

Exit status: 0 after SIGTERM or SIGINT; 1 when it cannot start or lost leadership; 2 for bad flags.`)
    .action(loadOnRun(async () => (await import("./operator-run.js")).runOperatorCommand));
}

export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const eq = pair.indexOf("=");
    if (eq < 1) throw new RangeError(`--operator-pod-labels: expected key=value pairs separated by commas, got "${pair}"`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}
