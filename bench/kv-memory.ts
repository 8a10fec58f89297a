/**
 * Memory of the KV state machine alone: loads N keys (18-byte keys, 256-byte values, as the
 * cluster bench's memory run) into one KvStateMachine and prints process.memoryUsage()
 * before and after, per key. Run: node --expose-gc --import tsx bench/kv-memory.ts [keys]
 */
import { KvStateMachine, encodeCommand } from "../src/kv/index.js";

const KEY_BYTES = 18;
const VALUE_BYTES = 256;
const keysTotal = Number(process.argv[2] ?? 1_000_000);
const MIB = 1024 * 1024;

function settle(): NodeJS.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage();
}

function key(i: number): Uint8Array {
  return new TextEncoder().encode(`key-${i.toString().padStart(KEY_BYTES - 4, "0")}`);
}

function show(label: string, usage: NodeJS.MemoryUsage, base?: NodeJS.MemoryUsage): void {
  const fields = ["rss", "heapUsed", "arrayBuffers"] as const;
  const parts = fields.map((field) => {
    const perKey = base === undefined ? "" : ` (${((usage[field] - base[field]) / keysTotal).toFixed(0)} B/key)`;
    return `${field} ${(usage[field] / MIB).toFixed(1)} MiB${perKey}`;
  });
  console.log(`${label}: ${parts.join(", ")}`);
}

const before = settle();
show("before", before);
const machine = new KvStateMachine();
const value = new Uint8Array(VALUE_BYTES).fill(0x61);
for (let i = 0; i < keysTotal; i++) {
  // Each entry is its own buffer, as entries read from the log or the network are.
  machine.apply(i + 1, encodeCommand({ stampMs: 1, command: { type: "put", key: key(i), value } }));
}
const loaded = settle();
show(`after ${keysTotal} puts`, loaded, before);
const startMs = Date.now();
const snapshot = machine.snapshot();
const encodeMs = Date.now() - startMs;
const restoreStartMs = Date.now();
const restored = KvStateMachine.restore(snapshot);
const restoreMs = Date.now() - restoreStartMs;
console.log(`snapshot ${(snapshot.length / MIB).toFixed(1)} MiB encoded in ${encodeMs} ms, restored in ${restoreMs} ms (${restored.keyCount()} keys)`);
machine.applyNoop(keysTotal + 1);
const both = settle();
show("with the restored copy too", both, loaded);
