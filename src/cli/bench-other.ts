/** Benchmarks that need more than the core: they arrive with the storage and server work. */
export async function runOtherBench(kind: string, _flags: { json?: boolean; seconds: number }): Promise<void> {
  process.stdout.write(`${kind}: not built yet (see the open issues)\n`);
}
