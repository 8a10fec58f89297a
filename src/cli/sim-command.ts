import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { isPlantName, PLANT_NAMES } from "../sim/core/plants.js";
import { SHIVIZ_EVENTS_MAX_DEFAULT, SHIVIZ_EVENTS_MAX_LIMIT } from "../sim/core/shiviz-trace.js";
import type { PlantName } from "../sim/core/plants.js";
import { loadOnRun } from "./load-on-run.js";
import { parsePositiveInt } from "./parse.js";

/** The flags of `kvraft sim`, as commander parses them. */
export interface SimFlags {
  seeds?: number;
  from: number;
  seed?: number;
  steps?: number;
  json?: boolean;
  trace?: boolean;
  traceLines: number;
  plant?: PlantName;
  listPlants?: boolean;
  workers?: number;
  maxFailures?: number;
  shiviz?: string;
  shivizEventsMax: number;
}

export function registerSimCommand(program: Command): void {
  program.command("sim")
    .description("run the deterministic simulator: whole clusters under seeded faults, Raft's safety checked at every step")
    .option("--seeds <n>", "how many seeds to run", parsePositiveInt)
    .option("--from <seed>", "first seed", parsePositiveInt, 1)
    .option("--seed <seed>", "run this one seed (replays it exactly)", parsePositiveInt)
    .option("--steps <n>", "keep faults going until each seed has run at least this many steps", parsePositiveInt)
    .option("--json", "end with one JSON line: seeds, violations, failing seeds, fault counts")
    .option("--trace", "with --seed: print the schedule and the state that broke")
    .option("--trace-lines <n>", "with --trace: print only the last n lines of the schedule (0 for all)", parseNonNegativeInt, 400)
    .option("--plant <name>", "run against a deliberately broken node (see --list-plants)", parsePlant)
    .option("--list-plants", "print the names of the planted bugs, one per line")
    .option("--workers <n>", "worker threads (default: one per core)", parsePositiveInt)
    .option("--max-failures <n>", "stop after this many failing seeds", parsePositiveInt)
    .option("--shiviz <file>", "with --seed: write the run's messages as a ShiViz log (see docs/TRACING.md)")
    .option("--shiviz-events-max <n>", `with --shiviz: stop tracing after this many events (at most ${SHIVIZ_EVENTS_MAX_LIMIT})`, parseEventsMax, SHIVIZ_EVENTS_MAX_DEFAULT)
    .addHelpText("after", `
Every seed builds a 3- or 5-member cluster in one process and runs it for a few virtual
seconds under a fault schedule drawn from the seed: message loss, duplication and
delay, partitions (one-way too), crashes that lose unsynced writes, lost disks,
membership changes, leadership transfers and snapshots, with clients doing get, put,
cas and delete. Safety is checked after every step; the clients' history is checked
for linearizability at the end; after healing, the cluster must commit again.

Examples:
  kvraft sim --seeds 10000 --json            # what CI runs
  kvraft sim --plant commit-previous-term --seeds 2000 --json
  kvraft sim --seed 1234 --trace             # replay one seed and show what broke
  kvraft sim --seed 1234 --shiviz run.log    # ...and draw it: open run.log in ShiViz

Exit status: 0 when no seed broke an invariant (and, without --plant, every seed had
each required fault); 1 otherwise; 2 for bad arguments.`)
    .action(loadOnRun(async () => (await import("./sim-run.js")).runSimCommand));
}

function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number >= 0, got "${value}"`);
  return n;
}

function parseEventsMax(value: string): number {
  const n = parsePositiveInt(value);
  if (n > SHIVIZ_EVENTS_MAX_LIMIT) throw new InvalidArgumentError(`at most ${SHIVIZ_EVENTS_MAX_LIMIT} events (the trace is held in memory), got ${n}`);
  return n;
}

function parsePlant(value: string): PlantName {
  if (!isPlantName(value)) throw new InvalidArgumentError(`unknown plant "${value}"; the plants are: ${PLANT_NAMES.join(", ")}`);
  return value;
}
