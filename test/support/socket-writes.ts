import { Socket } from "node:net";

/**
 * Counts the writes Node's sockets hand to the kernel on connections to `port` (one per
 * `_write` or `_writev` call: a corked socket hands over everything it holds in one
 * `_writev`) while `work` runs. The sockets are real; only the count is added.
 */
export async function countWritesTo<T>(port: number, work: (writes: () => number) => Promise<T>): Promise<T> {
  let count = 0;
  const prototype = Socket.prototype as unknown as Record<"_write" | "_writev", (this: Socket, ...args: unknown[]) => void>;
  const originals = { _write: prototype._write, _writev: prototype._writev };
  for (const name of ["_write", "_writev"] as const) {
    const original = originals[name];
    prototype[name] = function (this: Socket, ...args: unknown[]): void {
      if (this.remotePort === port) count++;
      original.apply(this, args);
    };
  }
  try {
    return await work(() => count);
  } finally {
    prototype._write = originals._write;
    prototype._writev = originals._writev;
  }
}

/** Resolves in the next turn of the event loop's tick queue: a later turn of the same pass, before setImmediate. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}
