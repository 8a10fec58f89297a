import type { Command } from "commander";
import { loadOnRun } from "./load-on-run.js";
import { SHIVIZ_OPEN_STEPS } from "./shiviz-hint.js";

/** The flags of `kvraft trace merge`. */
export interface TraceMergeFlags {
  output?: string;
  strict?: boolean;
}

export function registerTraceCommand(program: Command): void {
  const trace = program.command("trace").description("work with the vector-clock trace logs that --trace-log writes (ShiViz)");
  trace.command("merge").argument("<dir>", "a directory holding one run's *.log trace files")
    .description("merge one run's trace logs into one file that ShiViz draws as a space-time diagram")
    .option("-o, --output <file>", "write the merged file here (default: standard output)")
    .option("--strict", "exit 1 when the traces break a rule ShiViz relies on (they are warnings otherwise)")
    .addHelpText("after", `
ShiViz draws a distributed run as a space-time diagram: one vertical line per host
(member-1, coord, client-...), one dot per event, and an arrow from each send to its
receive, ordered by the vector clocks each event carries. Every process started with
--trace-log FILE writes its events in the GoVector log format (a "HOST {clock}" line,
then the event's line); this command joins the *.log files of DIR into one file with
ShiViz's parser regex at its head, checks the clocks (each host's own count goes 1,
2, 3...; clocks only grow; each receive follows its send; no clock names an event
that is missing) and prints on stderr what it merged.

${SHIVIZ_OPEN_STEPS}

Examples:
  npm start -- --trace-dir run1              # a local cluster, every process traced
  kvraft trace merge run1 -o run1.shiviz.log
  kvraft sim --seed 1234 --shiviz seed.log   # a simulated run: already one file

Exit status: 0 when merged (problems are warnings); 1 when DIR has no readable trace
log, a file does not parse, or --strict and a problem was found. See docs/TRACING.md.`)
    .action(loadOnRun(async () => (await import("./trace-run.js")).runTraceMerge));
}
