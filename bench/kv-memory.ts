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
let machine: KvStateMachine | undefined = new KvStateMachine();
const value = new Uint8Array(VALUE_BYTES).fill(0x61);
for (let i = 0; i < keysTotal; i++) {
  // Each entry is its own buffer, as entries read from the log or the network are.
  machine.apply(i + 1, encodeCommand({ stampMs: 1, command: { type: "put", key: key(i), value } }));
}
show(`after ${keysTotal} puts`, settle(), before);
const encodeStartMs = performance.now();
let snapshot: Uint8Array | undefined = machine.snapshot();
const encodeMs = performance.now() - encodeStartMs;
// As after a restart: only the state restored from the snapshot stays.
machine = undefined;
const restoreStartMs = performance.now();
const restored = KvStateMachine.restore(snapshot);
const restoreMs = performance.now() - restoreStartMs;
console.log(`snapshot ${(snapshot.length / MIB).toFixed(1)} MiB encoded in ${encodeMs.toFixed(0)} ms, restored in ${restoreMs.toFixed(0)} ms (${restored.keyCount()} keys)`);
snapshot = undefined;
show("restored from the snapshot alone", settle(), before);
