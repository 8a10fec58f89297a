import { pino } from "pino";
import type { RunningCoordinator } from "../coord/index.js";
import { describeCoordEvent, startCoordinator } from "../coord/index.js";
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
      onEvent: (event) => log.info({ event }, describeCoordEvent(event)),
    });
  } catch (error) {
    process.stderr.write(`kvraft coord: ${(error as Error).message}\n`);
    return error instanceof RangeError ? COORD_EXIT.usage : COORD_EXIT.failed;
  }
  log.info({ url: coordinator.url, port: coordinator.port }, `coordinator listening on ${coordinator.url}`);
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  log.info({ signal }, `stopping: received ${signal}`);
  await coordinator.stop();
  return COORD_EXIT.clean;
}

function wholeNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(n)) throw new RangeError(`--${flag}: expected a whole number, got "${value}"`);
  return n;
}
