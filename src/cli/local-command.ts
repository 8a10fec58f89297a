import type { Command } from "commander";
import { Option } from "commander";
import type { LocalCluster } from "../local/local-cluster.js";
import { startLocalCluster } from "../local/local-cluster.js";
import { DEFAULT_BASE_PORT, PORT_SPAN, SERVER_COUNTS, validateBasePort } from "../local/plan.js";

/** Exit codes of `kvraft local`, documented in --help. */
export const LOCAL_EXIT = { clean: 0, failed: 1, usage: 2 } as const;

/** SIGHUP too: closing the terminal must stop the children, which run in their own process groups. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

interface LocalFlags {
  clusterDir: string;
  servers?: string;
  basePort?: string;
}

export function registerLocalCommand(program: Command): void {
  program.command("local")
    .description("run a whole local cluster (coordinator + servers) with data under ./.kvraft/ (what `npm start` runs)")
    .addOption(new Option("--cluster-dir <dir>", "where cluster.json and each member's data dir live").env("KVRAFT_CLUSTER_DIR").default(".kvraft"))
    .addOption(new Option("--servers <n>", "members: 3, 5 or 7 (default: as before, or 3 for a new cluster)").choices(SERVER_COUNTS.map(String)).env("KVRAFT_SERVERS"))
    .addOption(new Option("--base-port <port>", `first port of the range used (default: as before, or ${DEFAULT_BASE_PORT})`).env("KVRAFT_BASE_PORT"))
    .addHelpText("after", `
What it starts (all on 127.0.0.1, as child processes of this command):
  a coordinator                 base+0              GET /v1/cluster: who leads, who is there
  member i (i = 1..servers)     peer base+10+i, HTTP base+20+i, memcached base+30+i,
                                client base+40+i, data in <cluster-dir>/member-i
Every port in base..base+${PORT_SPAN} that the cluster uses is checked first; a taken one is named.

The first start creates the cluster with a random id and writes <cluster-dir>/cluster.json
(the cluster id and every endpoint, for tools and scripts). Later starts read it back and
resume with the same id, size, ports and data.

While it runs, each member's log is shown in short form ("[m2] leader in term 3"). A
member that crashes is restarted with its data after a short backoff, as a StatefulSet
would restart a pod. Ctrl-C (or SIGTERM) stops the followers first, then the leader,
then the coordinator.

Examples:
  npm start                                  # the same as: kvraft local
  kvraft local --servers 5 --base-port 9000 --cluster-dir /tmp/kv5
  kvraft put greeting hello                  # from another terminal

Exit status: 0 after a clean stop; 1 when it could not start (a port taken, a cluster dir
of another size or cluster); 2 for bad flags.`)
    .action(async (flags: LocalFlags) => {
      process.exitCode = await runLocalCommand(flags);
    });
}

async function runLocalCommand(flags: LocalFlags): Promise<number> {
  const basePort = flags.basePort === undefined ? undefined : Number(flags.basePort);
  try {
    if (basePort !== undefined) validateBasePort(basePort);
  } catch (error) {
    process.stderr.write(`kvraft local: ${(error as Error).message}\n`);
    return LOCAL_EXIT.usage;
  }
  // Listen for signals before any child exists: a Ctrl-C during startup must still stop
  // the children in order rather than kill this process and leave them running.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    for (const name of STOP_SIGNALS) process.on(name, () => resolve(name));
  });
  let cluster: LocalCluster;
  try {
    cluster = await startLocalCluster({
      clusterDir: flags.clusterDir,
      ...(flags.servers === undefined ? {} : { servers: Number(flags.servers) }),
      ...(basePort === undefined ? {} : { basePort }),
      print: (line) => process.stdout.write(`${line}\n`),
    });
  } catch (error) {
    process.stderr.write(`kvraft local: ${(error as Error).message}\n`);
    return LOCAL_EXIT.failed;
  }
  // If this process dies of an exception, the children must not outlive it holding the ports.
  const onExit = (): void => cluster.killNow();
  process.once("exit", onExit);
  // The handlers stay installed, so a second Ctrl-C while stopping does not cut the
  // stop short; the stop is bounded (SIGKILL after a timeout), which guarantees an end.
  await cluster.stop(await signalled);
  process.removeListener("exit", onExit);
  return LOCAL_EXIT.clean;
}
