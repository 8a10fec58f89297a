import type { Command } from "commander";
import { runCoreBench } from "../bench/core.js";

const KINDS = ["core", "wal", "cluster"] as const;

export function registerBenchCommand(program: Command): void {
  program.command("bench")
    .description("benchmarks that print figures: core (the Raft core alone), wal (the disk log), cluster (KVRaft vs etcd)")
    .argument("[kinds...]", `which benchmarks to run: ${KINDS.join(", ")} (default: all)`)
    .option("--json", "print one JSON object per result")
    .option("--seconds <n>", "how long each measurement runs", Number, 1)
    .addHelpText("after", "\nExamples:\n  kvraft bench core          # entries/s through the Raft core alone\n  kvraft bench wal --json    # the disk's bare fsync rate vs the WAL's group commit\n  npm run bench              # every benchmark")
    .action(async (kinds: string[], flags: { json?: boolean; seconds: number }) => {
      const selected = kinds.length === 0 ? [...KINDS] : kinds;
      for (const kind of selected) {
        if (!(KINDS as readonly string[]).includes(kind)) {
          process.stderr.write(`kvraft bench: unknown benchmark "${kind}"; choose from ${KINDS.join(", ")}\n`);
          process.exitCode = 2;
          return;
        }
      }
      for (const kind of selected) await runBench(kind, flags);
    });
}

async function runBench(kind: string, flags: { json?: boolean; seconds: number }): Promise<void> {
  if (kind === "core") {
    const rows = runCoreBench({ seconds: flags.seconds });
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
