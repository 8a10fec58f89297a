import type { LocalCluster } from "../local/local-cluster.js";
import { startLocalCluster } from "../local/local-cluster.js";
import { validateBasePort } from "../local/plan.js";
import type { LocalFlags } from "./local-command.js";

/** Exit codes of `kvraft local`, documented in --help. */
const LOCAL_EXIT = { clean: 0, failed: 1, usage: 2 } as const;

/** SIGHUP too: closing the terminal must stop the children, which run in their own process groups. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Runs the local cluster until a stop signal; returns the exit status. */
export async function runLocalCommand(flags: LocalFlags): Promise<number> {
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
      ...(flags.traceDir === undefined ? {} : { traceDir: flags.traceDir }),
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
