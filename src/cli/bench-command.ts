import type { Command } from "commander";
import type { BenchFlags } from "./bench-other.js";

const KINDS = ["core", "wal", "cluster"] as const;
/**
 * Bounds of --seconds: short enough for a smoke run (the tests run every benchmark for a
 * fraction of a second), long enough to end. The cluster bench narrows them further
 * (it needs at least 0.2 s per round) and says so itself.
 */
const SECONDS_MIN = 0.05;
const SECONDS_MAX = 600;

export function registerBenchCommand(program: Command): void {
  program.command("bench")
    .description("benchmarks that print figures: core (the Raft core alone), wal (the disk log), cluster (KVRaft vs etcd)")
    .argument("[kinds...]", `which benchmarks to run: ${KINDS.join(", ")} (default: all)`)
    .option("--json", "print one JSON object per result")
    .option("--seconds <s>", `how long each measurement runs, ${SECONDS_MIN} to ${SECONDS_MAX} seconds (core and wal: 1; cluster: 2 per round, at least 0.2)`, Number)
    .option("--rounds <n>", "cluster: rounds per workload and system, the median reported (default 3)", Number)
    .option("--warmup-seconds <n>", "cluster: unmeasured load before each workload (default 0.5)", Number)
    .option("--workloads <list>", "cluster: comma-separated names or prefixes with * (put-1,put-16,put-64,put-256,get-*,mix-64,put-64KiB-16,put-64-follower)")
    .option("--quick", "cluster: put-1, put-64, get-64, mix-64 and put-64-follower, one 1-second round each, one kill per signal, 10,000 keys")
    .option("--no-extras", "cluster: skip the leader kills, restart and memory measurements")
    .option("--failovers <n>", "cluster: leader kills per signal and system (default 3)", Number)
    .option("--memory-keys <n>", "cluster: keys written for the memory and restart figures (default 100000)", Number)
    .option("--profile-dir <dir>", "cluster: run KVRaft's members under node --cpu-prof, their profiles written here when they stop")
    .option("--dir <dir>", "cluster and wal: where the data dirs go (the disk measured); the OS temp dir by default")
    .option("--kvraft-memory-keys <n>", "cluster: at the end, KVRaft alone writes this many keys (e.g. 5000000) for its memory per key, heap and off-heap, and restart", Number)
    .option("--members <n>", "cluster: members of each system's cluster, 3, 5 or 7 (default 3)", Number)
    .option("--tls", "cluster: both systems with TLS from one CA (KVRaft as kvraft local runs it, tokens included; etcd with client and peer TLS)")
    .addHelpText("after", "\nExamples:\n  kvraft bench core          # entries/s through the Raft core alone\n  kvraft bench wal --json    # the disk's bare fsync rate vs the WAL's group commit\n" +
      "  kvraft bench core wal --seconds 0.1        # a smoke run: both still work (figures too short to trust)\n" +
      "  kvraft bench cluster --quick               # KVRaft vs etcd, a short run (2-3 minutes)\n  kvraft bench cluster --workloads 'put-*' --json\n  kvraft bench cluster --quick --tls         # the same with TLS on both sides\n  kvraft bench cluster --members 5 --workloads put-64,get-64  # five-member clusters\n  npm run bench              # every benchmark")
    .action(async (kinds: string[], flags: BenchFlags) => {
      const selected = kinds.length === 0 ? [...KINDS] : kinds;
      for (const kind of selected) {
        if (!(KINDS as readonly string[]).includes(kind)) {
          process.stderr.write(`kvraft bench: unknown benchmark "${kind}"; choose from ${KINDS.join(", ")}\n`);
          process.exitCode = 2;
          return;
        }
      }
      const seconds = flags.seconds;
      if (seconds !== undefined && !(Number.isFinite(seconds) && seconds >= SECONDS_MIN && seconds <= SECONDS_MAX)) {
        process.stderr.write(`kvraft bench: --seconds must be a number of seconds from ${SECONDS_MIN} to ${SECONDS_MAX}, got ${String(seconds)}\n`);
        process.exitCode = 2;
        return;
      }
      const { runBench } = await import("./bench-run.js");
      for (const kind of selected) await runBench(kind, flags);
    });
}
