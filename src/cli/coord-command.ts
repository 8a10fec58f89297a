import type { Command } from "commander";
import { Option } from "commander";
import { loadOnRun } from "./load-on-run.js";

/** The flags of `kvraft coord`, as commander parses them. */
export interface CoordFlags {
  host: string; port: string; unreachableAfterMs: string; forgetAfterMs: string;
  membersMax: string; clustersMax: string; streamSubscribersMax: string; historyMax: string; logLevel: string;
  certFile?: string; keyFile?: string; trustedCaFile?: string; authTokenFile?: string;
  traceLog?: string; clusterId?: string;
}

const opt = (flags: string, description: string, env: string, defaultValue?: string): Option => {
  const option = new Option(flags, description).env(env);
  return defaultValue === undefined ? option : option.default(defaultValue);
};

export function registerCoordCommand(program: Command): void {
  program.command("coord")
    .description("run the coordinator: servers register and heartbeat here; clients ask it who leads (discovery only)")
    .addOption(opt("--host <host>", "address to bind (0.0.0.0 in a pod)", "KVRAFT_COORD_HOST", "127.0.0.1"))
    .addOption(opt("--port <port>", "HTTP port for the API, /metrics and /healthz (0: pick one)", "KVRAFT_COORD_PORT", "7070"))
    .addOption(opt("--unreachable-after-ms <ms>", "a member silent this long is shown unreachable (a few heartbeat intervals)", "KVRAFT_COORD_UNREACHABLE_AFTER_MS", "3000"))
    .addOption(opt("--forget-after-ms <ms>", "a member silent this long is dropped from the view", "KVRAFT_COORD_FORGET_AFTER_MS", String(10 * 60_000)))
    .addOption(opt("--members-max <n>", "members tracked per cluster; more are refused with 429", "KVRAFT_COORD_MEMBERS_MAX", "64"))
    .addOption(opt("--clusters-max <n>", "clusters tracked at once; more are refused with 429", "KVRAFT_COORD_CLUSTERS_MAX", "16"))
    .addOption(opt("--cluster-id <id>", "serve this one cluster: a report of another cluster id is refused (409 CLUSTER_MISMATCH) and never tracked (default: track every cluster that reports, up to --clusters-max)", "KVRAFT_COORD_CLUSTER_ID"))
    .addOption(opt("--stream-subscribers-max <n>", "status pages and watches (GET /v1/events) open at once; more are answered 503", "KVRAFT_COORD_STREAM_SUBSCRIBERS_MAX", "32"))
    .addOption(opt("--history-max <n>", "changes of the view kept for the status page (elections, joins, members going silent)", "KVRAFT_COORD_HISTORY_MAX", "50"))
    .addOption(opt("--cert-file <file>", "serve HTTPS with this certificate (reloaded when it changes)", "KVRAFT_COORD_CERT_FILE"))
    .addOption(opt("--key-file <file>", "key of --cert-file", "KVRAFT_COORD_KEY_FILE"))
    .addOption(opt("--trusted-ca-file <file>", "the cluster's CA: a member reports with its member certificate (--peer-cert-file), which must name the member and cluster it reports for", "KVRAFT_COORD_TRUSTED_CA_FILE"))
    .addOption(opt("--auth-token-file <file>", "a token (the whole file) members may present instead, as the servers' --coord-token-file", "KVRAFT_COORD_AUTH_TOKEN_FILE"))
    .addOption(opt("--trace-log <file>", "write a trace event (with a vector clock, the format ShiViz draws) for every member report received and answered; the file is truncated at start; merge it with the members' --trace-log files using 'kvraft trace merge' (default: no tracing, at no cost)", "KVRAFT_COORD_TRACE_LOG"))
    .addOption(opt("--log-level <level>", "trace, debug, info, warn, error", "KVRAFT_LOG_LEVEL", "info"))
    .addHelpText("after", `
What it is for:
  The coordinator answers "who leads and who is there". Each server started with
  --coord http://HOST:PORT registers when it starts and then heartbeats its status
  (role, term, commit and applied index, addresses). The coordinator shows the member
  that reports itself leader with the highest term, and each member's liveness.

What it is not:
  It never picks a leader and Raft never waits on it. With the coordinator down,
  servers keep electing and committing and clients keep using the addresses they know.
  It keeps nothing on disk: restarted, it rebuilds its view from the next heartbeats.

API:
  GET  /v1/cluster[?clusterId=ID]   { clusterId, leader: { id, term, addresses } | null,
                                      members: [{ id, membership, role, term, commitIndex,
                                      appliedIndex, lag, liveness, lastHeartbeatMsAgo, addresses }] }
                                    (with several clusters and no clusterId: 409 listing them;
                                    with --cluster-id there is only ever that one)
  GET  /v1/clusters                 the cluster ids it tracks
  GET  /v1/events                   the same view as server-sent events: "snapshot" (every
                                    cluster and the recent changes), then "view" when it
                                    changes and "change" per new history entry
  GET  /                            the live status page (follows /v1/events); open it
                                    in a browser. Like /v1/cluster it needs no credential
  POST /v1/register, /v1/heartbeat  { clusterId, status } (what servers send); with
                                    --trusted-ca-file or --auth-token-file, a report
                                    without a valid member certificate or token is
                                    answered 401 and never changes the view; with
                                    --cluster-id a report of another cluster is
                                    answered 409 CLUSTER_MISMATCH
  GET  /metrics, /healthz

Trust:
  Without --trusted-ca-file and --auth-token-file anyone who reaches the port can
  report, and one forged report names a leader: keep such a coordinator on loopback.
  A member certificate binds the member id and cluster id (a member reports only for
  itself); the token only proves membership of the deployment.
  --cluster-id only keeps other clusters out of the view (a stranger's, or the old id
  of a cluster rebuilt after a quorum loss); it proves nothing about who reports.

Examples:
  kvraft coord --port 7070
  kvraft server --id 1 --coord http://127.0.0.1:7070 ...
  kvraft coord --cert-file coord.crt --key-file coord.key --trusted-ca-file ca.crt
  kvraft server --id 1 --coord https://coord:7070 --peer-cert-file member-1.crt --peer-key-file member-1.key --peer-trusted-ca-file ca.crt ...
  curl -s http://127.0.0.1:7070/v1/cluster
  kvraft coord --cluster-id "$CLUSTER_ID"     # one cluster only: reports of others are refused
  kvraft coord --trace-log traces/coordinator.log     # with members' --trace-log traces/member-ID.log

Every flag can also be set by the environment variable shown.

Exit status: 0 after SIGTERM or SIGINT; 1 when the port cannot be bound; 2 for bad flags.`)
    .action(loadOnRun(async () => (await import("./coord-run.js")).runCoordCommand));
}
