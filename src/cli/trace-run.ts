import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  checkTrace, describeSummary, mergeLogs, parseEventsStrict, summarizeTrace, type TraceEvent, withoutShivizHead,
} from "../trace/index.js";
import type { TraceMergeFlags } from "./trace-command.js";

/** The most trace files one merge reads: a run has one per process, a few dozen at most. */
export const TRACE_FILES_MAX = 1000;
/** The most bytes one merge reads, all files together: they are held in memory, and ShiViz in a browser draws far less. */
export const TRACE_BYTES_MAX = 512 * 1024 * 1024;
/** Problems checkTrace reports before it stops counting. */
const PROBLEMS_MAX = 20;

class MergeError extends Error {}

/** `kvraft trace merge DIR`: returns the exit status. */
export async function runTraceMerge(dir: string, flags: TraceMergeFlags): Promise<number> {
  try {
    const bodies = await readTraceLogs(dir, flags.output);
    const events: TraceEvent[] = [];
    for (const { name, body } of bodies) {
      try {
        events.push(...parseEventsStrict(body));
      } catch (error) {
        throw new MergeError(`${name} is not a trace log: ${(error as Error).message}; each event is a "HOST {clock}" line and its event line, as --trace-log writes them`);
      }
    }
    const problems = checkTrace(events, PROBLEMS_MAX);
    for (const problem of problems) process.stderr.write(`warning: ${problem}\n`);
    if (problems.length === PROBLEMS_MAX) process.stderr.write(`warning: (stopped after ${PROBLEMS_MAX} problems)\n`);
    await writeMerged(mergeLogs(bodies.map((file) => withoutShivizHead(file.body).body)), flags.output);
    process.stderr.write(`merged ${bodies.length} files: ${describeSummary(summarizeTrace(events))}\n`);
    return flags.strict === true && problems.length > 0 ? 1 : 0;
  } catch (error) {
    if (!(error instanceof MergeError)) throw error;
    process.stderr.write(`kvraft trace merge: ${error.message}\n`);
    return 1;
  }
}

/** The *.log files of `dir` in name order, bounded; the output file is skipped if it lies there (a second merge must not read the first). */
async function readTraceLogs(dir: string, output: string | undefined): Promise<{ name: string; body: string }[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith(".log")).sort();
  } catch (error) {
    throw new MergeError(`cannot read the directory ${dir}: ${(error as Error).message}`);
  }
  if (output !== undefined) names = names.filter((name) => resolve(dir, name) !== resolve(output));
  if (names.length === 0) throw new MergeError(`${dir} holds no *.log file: point it at the directory the --trace-log files of one run were written to`);
  if (names.length > TRACE_FILES_MAX) throw new MergeError(`${dir} holds ${names.length} *.log files, more than ${TRACE_FILES_MAX}: merge one run at a time`);
  let bytes = 0;
  const files: { name: string; body: string }[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      bytes += (await stat(path)).size;
      if (bytes > TRACE_BYTES_MAX) throw new MergeError(`the *.log files of ${dir} pass ${TRACE_BYTES_MAX} bytes at ${name}: merge a shorter run (ShiViz draws a few thousand events well)`);
      files.push({ name, body: await readFile(path, "utf8") });
    } catch (error) {
      if (error instanceof MergeError) throw error;
      throw new MergeError(`cannot read ${path}: ${(error as Error).message}`);
    }
  }
  return files;
}

async function writeMerged(text: string, output: string | undefined): Promise<void> {
  if (output === undefined) {
    process.stdout.write(text);
    return;
  }
  try {
    await writeFile(output, text);
  } catch (error) {
    throw new MergeError(`cannot write ${output}: ${(error as Error).message}; check the directory exists and is writable`);
  }
}
