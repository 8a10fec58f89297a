import { runCoreBench } from "../bench/core.js";
import type { BenchFlags } from "./bench-other.js";

/** Runs one benchmark (a kind `kvraft bench` has validated) and prints its figures. */
export async function runBench(kind: string, flags: BenchFlags): Promise<void> {
  if (kind === "core") {
    const rows = runCoreBench({ seconds: flags.seconds ?? 1 });
    if (flags.json === true) {
      for (const row of rows) process.stdout.write(`${JSON.stringify({ name: `core-batch-${row.batch}`, ...row })}\n`);
      return;
    }
    process.stdout.write("core: a 3-node cluster in one thread, in-memory disk and network, 256-byte entries\n");
    process.stdout.write("  batch   entries/s   messages/entry\n");
    for (const row of rows) {
      process.stdout.write(`  ${String(row.batch).padStart(5)}   ${String(row.entriesPerSecond).padStart(9)}   ${String(row.messagesPerEntry).padStart(14)}\n`);
    }
    return;
  }
  const { runOtherBench } = await import("./bench-other.js");
  await runOtherBench(kind, flags);
}
