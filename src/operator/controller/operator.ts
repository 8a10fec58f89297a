import type { Server } from "node:http";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { KVRaftCluster, PodView } from "../types.js";
import { clusterIdOf, MANAGED_BY } from "../desired/index.js";
import { adminBaseUrls, defaultAdminTemplate } from "./admin-endpoints.js";
import { HttpAdminApi } from "./admin-http.js";
import { BackupReconciler, reconcileBackups } from "./backup-reconciler.js";
import { pollEvery } from "./resource-poll.js";
import { reconcileScheduledBackups, ScheduledBackupReconciler } from "./scheduled-backup-reconciler.js";
import { PodMonitorDiscovery } from "./discovery.js";
import { EventRecorder } from "./events.js";
import { FreshCache } from "./fresh-cache.js";
import { activeFailpoints } from "./failpoint.js";
import type { InformerHealthBounds } from "./informer-health.js";
import { InformerSet, POD_MONITOR_TYPE } from "./informers.js";
import { loadKubeConfig, KubeRest } from "./kube-rest.js";
import type { ElectionTiming } from "./leader-election.js";
import { LeaseElector } from "./lease-loop.js";
import { OperatorMetrics, serveMetrics } from "./metrics.js";
import { Reconciler } from "./reconciler.js";
import { CLUSTER_TYPE } from "./resources.js";
import { DEFAULT_QUEUE_OPTIONS, WorkQueue } from "./work-queue.js";

export interface OperatorOptions {
  readonly kubeconfigPath?: string;
  /** Watch one namespace; undefined watches all. */
  readonly namespace?: string;
  readonly metrics: { readonly host: string; readonly port: number };
  /** Leader election on a Lease; undefined runs as the only replica. */
  readonly leaderElection?: { readonly namespace: string; readonly name: string; readonly identity?: string; readonly timing: ElectionTiming };
  /** The admin API's URL template ({pod}, {ordinal}, {name}, {namespace}); undefined: each pod through the peer Service. */
  readonly adminEndpointTemplate?: string;
  readonly adminDeadlineMs: number;
  /** How long a silent voter takes to count as gone for good (GONE_AFTER_MS_DEFAULT when not given). */
  readonly quorumGoneAfterMs?: number;
  readonly clusterDomain: string;
  /** Prometheus's namespace, let scrape the clusters whose spec.monitoring.allowedNamespaces names none (default `monitoring`). */
  readonly monitoringNamespace?: string;
  /** Where the operator itself runs and its pods' labels: the NetworkPolicy lets these reach the admin API. */
  readonly self: { readonly namespace: string; readonly podLabels: Readonly<Record<string, string>> };
  readonly resyncMs: number;
  /** When informers that cannot sync or keep failing make /healthz answer 503 (default: DEFAULT_INFORMER_HEALTH_BOUNDS). */
  readonly informerHealth?: InformerHealthBounds;
  readonly log: Logger;
  /** Leadership was lost: the process should exit (a restart campaigns again with a clean state). */
  readonly onLostLeadership: (why: string) => void;
}

export interface RunningOperator {
  readonly metricsPort: number;
  readonly metrics: OperatorMetrics;
  readonly rest: KubeRest;
  stop(): Promise<void>;
}

/** Starts the operator: caches, the metrics endpoint, leader election, then reconciling. */
export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const log = options.log;
  const kubeConfig = loadKubeConfig(options.kubeconfigPath);
  const rest = new KubeRest(kubeConfig);
  const metrics = new OperatorMetrics();
  const queue = new WorkQueue(DEFAULT_QUEUE_OPTIONS);
  const identity = options.leaderElection?.identity ?? `${hostname()}-${process.pid}`;
  const informers = new InformerSet(kubeConfig, rest, {
    namespace: options.namespace,
    ownedLabelSelector: `app.kubernetes.io/managed-by=${MANAGED_BY}`,
    onClusterKey: (key) => {
      if (!queue.add(key)) log.warn({ cluster: key }, `work queue full (${DEFAULT_QUEUE_OPTIONS.keysMax} clusters): ${key} waits for the next resync`);
    },
    onError: (kind, error) => log.warn({ kind, err: error }, `watch of ${kind} failed: restarting it with backoff`),
    ...(options.informerHealth === undefined ? {} : { healthBounds: options.informerHealth }),
  });
  const events = new EventRecorder(rest, "kvraft-operator", identity, (error, event) => log.warn({ err: error, event }, "could not record an Event"));
  const discovery = new PodMonitorDiscovery(rest);
  // PodMonitors are owned like the rest, but their kind exists only once the Prometheus
  // operator's CRD is installed: watched from the first time discovery finds it served.
  const podMonitorAvailable = async (): Promise<boolean> => {
    const served = await discovery.available();
    if (served) await informers.watchAlso(POD_MONITOR_TYPE);
    return served;
  };
  const template = options.adminEndpointTemplate;
  const reconciler = new Reconciler({
    rest, cache: new FreshCache(informers), events, metrics, log,
    adminFor: (cluster: KVRaftCluster, token: string, pods: readonly PodView[], caPem?: string) => new HttpAdminApi({
      baseUrls: adminBaseUrls(template ?? defaultAdminTemplate(cluster.metadata.name, options.clusterDomain, caPem !== undefined), cluster, pods),
      token, clusterId: clusterIdOf(cluster), deadlineMs: options.adminDeadlineMs,
      ...(caPem === undefined ? {} : { caPem }),
    }),
    desired: {
      operator: options.self, clusterDomain: options.clusterDomain,
      ...(options.monitoringNamespace === undefined ? {} : { monitoringNamespace: options.monitoringNamespace }),
    },
    podMonitorAvailable,
    failpoints: activeFailpoints(),
    ...(options.quorumGoneAfterMs === undefined ? {} : { quorumGoneAfterMs: options.quorumGoneAfterMs }),
  });

  let stopped = false;
  const workerDone = { promise: Promise.resolve() };
  const backups = pollBackups(new BackupReconciler({ rest, events, log, metrics, clusterDomain: options.clusterDomain }), rest, options.namespace, log);
  const schedules = pollSchedules(new ScheduledBackupReconciler({ rest, events, log, metrics, nowMs: () => Date.now() }), rest, options.namespace, log);
  const startReconciling = (): void => {
    metrics.leader.set(1);
    log.info({ identity }, "leading: reconciling clusters");
    for (const key of informers.clusterKeys()) queue.add(key);
    workerDone.promise = runWorker(queue, reconciler, metrics, log, informers, events);
    backups.start();
    schedules.start();
  };
  // Not tied to leadership: a standby whose caches are synced is healthy.
  const server: Server = await serveMetrics(metrics, options.metrics.host, options.metrics.port, () => (stopped ? "stopping" : informers.problem()));
  await informers.start();
  await podMonitorAvailable().catch((error: unknown) => log.warn({ err: error }, "could not ask discovery whether PodMonitors are served: asking again at the next reconcile"));
  const resync = setInterval(() => {
    for (const key of informers.clusterKeys()) queue.add(key);
    metrics.queueDepth.set(queue.depth);
  }, options.resyncMs);

  let elector: LeaseElector | undefined;
  if (options.leaderElection === undefined) {
    startReconciling();
  } else {
    elector = new LeaseElector(rest, {
      ...options.leaderElection, identity,
      onStartedLeading: startReconciling,
      onStoppedLeading: (why) => {
        metrics.leader.set(0);
        queue.shutDown();
        log.error({ identity }, `lost leadership (${why}): stopping`);
        options.onLostLeadership(why);
      },
      onError: (error) => log.warn({ err: error }, "leader election: could not read or renew the Lease"),
    });
    log.info({ identity, lease: `${options.leaderElection.namespace}/${options.leaderElection.name}` }, "waiting to lead");
    elector.start();
  }
  const address = server.address();
  return {
    metricsPort: typeof address === "object" && address !== null ? address.port : options.metrics.port,
    metrics,
    rest,
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(resync);
      queue.shutDown();
      await workerDone.promise;
      await backups.stop();
      await schedules.stop();
      await elector?.stop();
      await informers.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** How often unfinished KVRaftBackups are looked at: a backup's Job runs for seconds to minutes. */
const BACKUP_POLL_MS = 5000;
/** How often schedules are looked at: a slot's backup is made within this long of its time. */
const SCHEDULE_POLL_MS = 5000;

/**
 * Backups are polled (one LIST, then each unfinished one), not watched: they are few and
 * short-lived, and a poll that finds the CRD missing costs one request. One poll at a time.
 */
function pollBackups(reconciler: BackupReconciler, rest: KubeRest, namespace: string | undefined, log: Logger): { start(): void; stop(): Promise<void> } {
  const said = { missing: false };
  return pollEvery(BACKUP_POLL_MS, () => reconcileBackups(reconciler, rest, namespace, log, said), log, "KVRaftBackups");
}

/** Schedules are polled the same way: their slots are minutes apart, and pruning is never urgent. */
function pollSchedules(reconciler: ScheduledBackupReconciler, rest: KubeRest, namespace: string | undefined, log: Logger): { start(): void; stop(): Promise<void> } {
  const said = { missing: false };
  return pollEvery(SCHEDULE_POLL_MS, () => reconcileScheduledBackups(reconciler, rest, namespace, log, said), log, "KVRaftScheduledBackups");
}

/** One worker: clusters are few and each reconcile is short; one at a time keeps every change serial. */
async function runWorker(queue: WorkQueue, reconciler: Reconciler, metrics: OperatorMetrics, log: Logger, cache: InformerSet, events: EventRecorder): Promise<void> {
  for (;;) {
    const key = await queue.get();
    if (key === undefined) return;
    const endTimer = metrics.duration.startTimer();
    try {
      const result = await reconciler.reconcile(key);
      metrics.reconciles.inc({ result: "ok" });
      queue.forget(key);
      if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
    } catch (error) {
      metrics.reconciles.inc({ result: "error" });
      metrics.errors.inc();
      const delay = queue.addWithBackoff(key);
      log.warn({ cluster: key, err: error, retryInMs: delay }, `reconcile of ${key} failed (attempt ${queue.failuresOf(key)}): retrying in ${delay} ms`);
      const [namespace, name] = key.split("/") as [string, string];
      const cluster = cache.get(CLUSTER_TYPE, namespace, name);
      if (cluster !== undefined && queue.failuresOf(key) >= 3) {
        // Transient errors are common (a member restarting); only persistent ones are worth a person's attention.
        await events.record(cluster, { type: "Warning", reason: "ReconcileError", message: (error as Error).message });
      }
    } finally {
      endTimer();
      metrics.queueDepth.set(queue.depth);
      queue.done(key);
    }
  }
}
