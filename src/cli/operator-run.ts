import { KubeconfigError } from "../operator/errors.js";
import { pino } from "pino";
import type { OperatorOptions } from "../operator/controller/operator.js";
import { checkTiming } from "../operator/controller/leader-election.js";
import { findKubeConfig } from "../operator/controller/kubeconfig-source.js";
import { namespaceNameProblem } from "../operator/desired/label-rules.js";
import { GONE_AFTER_MS_BOUNDS } from "../operator/planner/quorum-loss.js";
import type { OperatorFlags } from "./operator-command.js";
import { parseLabels } from "./operator-command.js";

/** Exit codes of `kvraft operator`, documented in --help. */
const OPERATOR_EXIT = { clean: 0, failed: 1, usage: 2 } as const;

/** Runs the operator until SIGTERM, SIGINT or lost leadership; returns the exit status. */
export async function runOperatorCommand(flags: OperatorFlags): Promise<number> {
  const log = pino({ level: flags.logLevel, base: { component: "operator" } });
  let lost: (why: string) => void = () => undefined;
  const lostLeadership = new Promise<string>((resolve) => { lost = resolve; });
  let options: OperatorOptions;
  try {
    options = {
      ...(flags.kubeconfig === undefined ? {} : { kubeconfigPath: flags.kubeconfig }),
      ...(flags.namespace === "all" || flags.namespace === "" ? {} : { namespace: flags.namespace }),
      metrics: { host: flags.metricsHost, port: wholeNumber("metrics-port", flags.metricsPort) },
      ...(flags.leaderElect ? {
        leaderElection: {
          namespace: flags.leaseNamespace, name: flags.leaseName,
          ...(flags.identity === undefined ? {} : { identity: flags.identity }),
          timing: {
            leaseDurationSeconds: wholeNumber("lease-duration-seconds", flags.leaseDurationSeconds),
            renewDeadlineMs: wholeNumber("renew-deadline-ms", flags.renewDeadlineMs),
            retryPeriodMs: wholeNumber("retry-period-ms", flags.retryPeriodMs),
          },
        },
      } : {}),
      ...(flags.adminEndpointOverride === undefined ? {} : { adminEndpointTemplate: flags.adminEndpointOverride }),
      adminDeadlineMs: wholeNumber("admin-deadline-ms", flags.adminDeadlineMs),
      quorumGoneAfterMs: quorumGoneAfterMs(flags.quorumGoneAfterMs),
      clusterDomain: flags.clusterDomain,
      monitoringNamespace: namespaceName("monitoring-namespace", flags.monitoringNamespace),
      self: { namespace: flags.operatorNamespace, podLabels: parseLabels(flags.operatorPodLabels) },
      resyncMs: wholeNumber("resync-seconds", flags.resyncSeconds) * 1000,
      log,
      onLostLeadership: (why) => lost(why),
    };
    if (options.leaderElection !== undefined) checkTiming(options.leaderElection.timing);
    // Before the Kubernetes client loads: without a kubeconfig it would talk to
    // localhost:8080 and retry forever with an error that never names what is missing.
    if (flags.kubeconfig === undefined) {
      const source = findKubeConfig();
      if (source.kind === "none") throw new RangeError(source.message);
    }
  } catch (error) {
    process.stderr.write(`kvraft operator: ${(error as Error).message}\n`);
    return OPERATOR_EXIT.usage;
  }
  let operator;
  try {
    // Loaded only once the flags are valid: the Kubernetes client takes seconds to load.
    const { startOperator } = await import("../operator/controller/operator.js");
    operator = await startOperator(options);
  } catch (error) {
    process.stderr.write(`kvraft operator: could not start: ${(error as Error).message}\n`);
    // A kubeconfig that does not load is the flag's fault (exit 2), like one that is missing.
    return error instanceof KubeconfigError ? OPERATOR_EXIT.usage : OPERATOR_EXIT.failed;
  }
  log.info({ metricsPort: operator.metricsPort, namespace: options.namespace ?? "all" }, `operator started; metrics on port ${operator.metricsPort}`);
  const outcome = await Promise.race([
    new Promise<string>((resolve) => {
      process.once("SIGTERM", () => resolve("SIGTERM"));
      process.once("SIGINT", () => resolve("SIGINT"));
    }),
    lostLeadership.then((why) => `lost leadership: ${why}`),
  ]);
  log.info({ outcome }, `stopping: ${outcome}`);
  await operator.stop();
  return outcome.startsWith("lost leadership") ? OPERATOR_EXIT.failed : OPERATOR_EXIT.clean;
}

/** Checked here: a bad name would otherwise surface as every cluster's NetworkPolicy refused by the API server. */
function namespaceName(flag: string, value: string): string {
  const problem = namespaceNameProblem(value);
  if (problem !== undefined) throw new RangeError(`--${flag}: ${problem}`);
  return value;
}

function wholeNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(n) || n < 0) throw new RangeError(`--${flag}: expected a whole number >= 0, got "${value}"`);
  return n;
}

function quorumGoneAfterMs(value: string): number {
  const ms = wholeNumber("quorum-gone-after-ms", value);
  const { min, max } = GONE_AFTER_MS_BOUNDS;
  if (ms < min || ms > max) {
    throw new RangeError(`--quorum-gone-after-ms: ${ms} is outside ${min}..${max} (below a minute a restarting node or a slow volume attach would count as a lost member)`);
  }
  return ms;
}
