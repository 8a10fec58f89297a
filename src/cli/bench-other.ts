import { runWalBench } from "../bench/wal.js";

/** Benchmarks beyond the core: the disk log now; the cluster comparison with etcd later. */
export async function runOtherBench(kind: string, flags: { json?: boolean; seconds: number }): Promise<void> {
  if (kind === "wal") {
    await runWalBench({ seconds: Math.max(1, flags.seconds), json: flags.json === true });
    return;
  }
  process.stdout.write(`${kind}: not built yet: the side-by-side comparison with etcd is an open issue\n`);
}
