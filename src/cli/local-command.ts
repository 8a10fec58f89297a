import type { Command } from "commander";
import { Option } from "commander";
import { DEFAULT_BASE_PORT, PORT_SPAN, SERVER_COUNTS } from "../local/plan.js";
import { loadOnRun } from "./load-on-run.js";

/** The flags of `kvraft local`, as commander parses them. */
export interface LocalFlags {
  clusterDir: string;
  servers?: string;
  basePort?: string;
  traceDir?: string;
}

export function registerLocalCommand(program: Command): void {
  program.command("local")
    .description("run a whole local cluster (coordinator + servers) with data under ./.kvraft/ (what `npm start` runs)")
    .addOption(new Option("--cluster-dir <dir>", "where cluster.json and each member's data dir live").env("KVRAFT_CLUSTER_DIR").default(".kvraft"))
    .addOption(new Option("--servers <n>", "members: 3, 5 or 7 (default: as before, or 3 for a new cluster)").choices(SERVER_COUNTS.map(String)).env("KVRAFT_SERVERS"))
    .addOption(new Option("--base-port <port>", `first port of the range used (default: as before, or ${DEFAULT_BASE_PORT})`).env("KVRAFT_BASE_PORT"))
    .addOption(new Option("--trace-dir <dir>", "trace every process: each member writes <dir>/member-i.log and the coordinator <dir>/coordinator.log (vector-clocked events ShiViz draws; truncated at each start); merge them with kvraft trace merge <dir> (default: no tracing)").env("KVRAFT_TRACE_DIR"))
    .addHelpText("after", `
What it starts (all on 127.0.0.1, as child processes of this command):
  a coordinator                 base+0              GET /v1/cluster: who leads, who is there
  member i (i = 1..servers)     peer base+10+i, HTTPS base+20+i, memcached base+30+i,
                                client base+40+i, data in <cluster-dir>/member-i
Every port in base..base+${PORT_SPAN} that the cluster uses is checked first; a taken one is named.

The first start creates the cluster with a random id and writes <cluster-dir>/cluster.json
(the cluster id and every endpoint, for tools and scripts). Later starts read it back and
resume with the same id, size, ports and data.

Secure by default: the first start also makes, in <cluster-dir> (keys and tokens 0600),
  ca.crt, ca.key                the cluster's CA (curl --cacert, kvraft --cacert)
  member-i.crt, member-i.key    member i's certificate, on its client and peer ports
  read-write.token              the token the CLI uses for data (reads and writes)
  read-only.token               a token that may only read
  admin.token, tokens.csv       the admin token (membership, snapshots); all three tokens
and every member speaks TLS on every port and wants a token. Later starts reuse them
(a missing or foreign member certificate is issued again from the same CA); delete the
files to start over with new ones. cluster.json names the CA and the token files, so
the CLI needs no flags here:
  kvraft put greeting hello
  curl --cacert .kvraft/ca.crt -H "Authorization: Bearer $(cat .kvraft/read-write.token)" \\
    https://127.0.0.1:7021/v1/kv/greeting

While it runs, each member's log is shown in short form ("[m2] leader in term 3"). A
member that crashes is restarted with its data after a short backoff, as a StatefulSet
would restart a pod. Ctrl-C (or SIGTERM) stops the followers first, then the leader,
then the coordinator.

Examples:
  npm start                                  # the same as: kvraft local
  kvraft local --servers 5 --base-port 9000 --cluster-dir /tmp/kv5
  kvraft put greeting hello                  # from another terminal
  npm start -- --trace-dir traces            # then: kvraft trace merge traces, open the result in ShiViz

Exit status: 0 after a clean stop; 1 when it could not start (a port taken, a cluster dir
of another size or cluster); 2 for bad flags.`)
    .action(loadOnRun(async () => (await import("./local-run.js")).runLocalCommand));
}
