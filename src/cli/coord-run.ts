import { pino } from "pino";
import type { RunningCoordinator } from "../coord/index.js";
import { describeCoordEvent, startCoordinator } from "../coord/index.js";
import type { TlsFiles } from "../security/tls-material.js";
import { readSingleToken } from "../security/tokens.js";
import type { CoordFlags } from "./coord-command.js";

/** Exit codes of `kvraft coord`, documented in --help. */
const COORD_EXIT = { clean: 0, failed: 1, usage: 2 } as const;

/** Runs the coordinator until SIGTERM or SIGINT; returns the exit status. */
export async function runCoordCommand(flags: CoordFlags): Promise<number> {
  const log = pino({ level: flags.logLevel, base: { component: "coord" } });
  let options;
  try {
    options = {
      host: flags.host,
      port: wholeNumber("port", flags.port),
      unreachableAfterMs: wholeNumber("unreachable-after-ms", flags.unreachableAfterMs),
      forgetAfterMs: wholeNumber("forget-after-ms", flags.forgetAfterMs),
      membersPerClusterMax: wholeNumber("members-max", flags.membersMax),
      clustersMax: wholeNumber("clusters-max", flags.clustersMax),
      streamSubscribersMax: wholeNumber("stream-subscribers-max", flags.streamSubscribersMax),
      historyEntriesMax: wholeNumber("history-max", flags.historyMax),
      ...coordTls(flags),
      ...(flags.authTokenFile === undefined ? {} : { authToken: readSingleToken(flags.authTokenFile, "--auth-token-file") }),
      ...(flags.traceLog === undefined ? {} : { traceLog: flags.traceLog }),
      ...(flags.clusterId === undefined ? {} : { clusterId: flags.clusterId }),
    };
  } catch (error) {
    process.stderr.write(`kvraft coord: ${(error as Error).message}\n`);
    return COORD_EXIT.usage;
  }
  let coordinator: RunningCoordinator;
  try {
    coordinator = await startCoordinator({
      ...options,
      // The cluster id is a field, not in the message: one cluster is the normal case.
      onEvent: (event) => (event.type === "unauthenticated" ? log.warn({ event }, describeCoordEvent(event)) : log.info({ event }, describeCoordEvent(event))),
      onTraceWriteError: (error) => log.error({ err: error }, `trace log ${flags.traceLog ?? ""}: a write failed (${error.message}); events are dropped from now on, the coordinator carries on`),
      onTlsReloadError: (error) => log.error({ err: error }, `the coordinator's TLS files changed but do not load (${error.message}): still serving the old certificate`),
    });
  } catch (error) {
    process.stderr.write(`kvraft coord: ${(error as Error).message}\n`);
    return error instanceof RangeError ? COORD_EXIT.usage : COORD_EXIT.failed;
  }
  const serving = options.clusterId === undefined ? "" : `, serving cluster ${options.clusterId} only`;
  log.info({ url: coordinator.url, port: coordinator.port, clusterId: options.clusterId }, `coordinator listening on ${coordinator.url}${serving}`);
  if (!coordinator.authenticatesReports) {
    log.warn("reports are not authenticated (no --trusted-ca-file or --auth-token-file): anyone who reaches this port can name a leader; keep it on loopback");
  }
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  log.info({ signal }, `stopping: received ${signal}`);
  await coordinator.stop();
  return COORD_EXIT.clean;
}

/** --cert-file and --key-file go together; --trusted-ca-file asks members for their certificates (over HTTPS). */
function coordTls(flags: CoordFlags): { tls?: TlsFiles } {
  if (flags.certFile === undefined && flags.keyFile === undefined) {
    if (flags.trustedCaFile !== undefined) throw new RangeError("--trusted-ca-file needs --cert-file and --key-file: member certificates are checked over HTTPS");
    return {};
  }
  if (flags.certFile === undefined || flags.keyFile === undefined) throw new RangeError("--cert-file and --key-file go together: give both");
  return { tls: { certFile: flags.certFile, keyFile: flags.keyFile, trustedCaFile: flags.trustedCaFile, clientCertAuth: false } };
}

function wholeNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(n)) throw new RangeError(`--${flag}: expected a whole number, got "${value}"`);
  return n;
}
