/** A progress bar on stderr when it is a terminal; silent otherwise (scripts, tests). */
export function progress(what: string, done: number, total: number, final = false): void {
  if (process.stderr.isTTY !== true) return;
  const width = 30;
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const bar = "#".repeat(Math.round(fraction * width)).padEnd(width, ".");
  process.stderr.write(`\r${what} [${bar}] ${(done / 1024).toFixed(0)} KiB${total > 0 ? ` of ${(total / 1024).toFixed(0)} KiB` : ""}${final ? "\n" : ""}`);
}
