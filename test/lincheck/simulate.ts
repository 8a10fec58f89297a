import type { KvInput, KvOutput, Operation } from "../../src/lincheck/index.js";

/**
 * Histories that are linearizable by construction: each op gets a call time, a
 * linearization point inside its interval and a return time; the ops then run in
 * linearization-point order against a plain map that hands out versions like a Raft log
 * (one index per applied op, so versions have gaps). Inputs are chosen at that moment,
 * so that a cas can be aimed at the key's current version and succeed.
 */

/** mulberry32: a small seeded PRNG, so every history is reproducible from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimulationConfig {
  clients: number;
  keys: number;
  operationsPerClient: number;
  /** The chance that an op times out (output unknown); half of those still take effect. */
  unknownOutcomeRate: number;
}

interface Planned {
  operation: Operation;
  /** When the op takes effect; undefined for a timed-out op that never does. */
  linearizationTime: number | undefined;
  order: number;
}

type Store = Map<string, { value: string; version: number }>;

function plan(random: () => number, config: SimulationConfig): Planned[] {
  const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const planned: Planned[] = [];
  for (let clientId = 0; clientId < config.clients; clientId++) {
    let time = between(0, 10);
    for (let i = 0; i < config.operationsPerClient; i++) {
      const key = `k${between(0, config.keys - 1)}`;
      const placeholder: KvInput = { op: "get", key };
      const operation: Operation = { clientId, input: placeholder, callTime: time, returnTime: 0, output: undefined };
      let linearizationTime: number | undefined;
      if (random() < config.unknownOutcomeRate) {
        // The client gives up after a timeout; the request may still apply much later.
        linearizationTime = random() < 0.5 ? time + between(0, 100) : undefined;
        operation.returnTime = Number.POSITIVE_INFINITY;
        time += 40;
      } else {
        linearizationTime = time + between(0, 20);
        operation.returnTime = linearizationTime + between(0, 20);
        time = operation.returnTime + between(0, 5);
      }
      planned.push({ operation, linearizationTime, order: planned.length });
    }
  }
  return planned;
}

function chooseInput(random: () => number, key: string, store: Store, uniqueValue: string): KvInput {
  const roll = random();
  if (roll < 0.4) return { op: "get", key };
  if (roll < 0.7) return { op: "put", key, value: uniqueValue };
  if (roll < 0.85) {
    const current = store.get(key)?.version ?? 0;
    const expectVersion = random() < 0.6 ? current : Math.max(0, current - 1 - Math.floor(random() * 3));
    return { op: "cas", key, expectVersion, value: uniqueValue };
  }
  return { op: "delete", key };
}

/** Applies `input` as the log entry at `index`, returning its output. */
function execute(store: Store, input: KvInput, index: number): KvOutput {
  const current = store.get(input.key);
  switch (input.op) {
    case "get":
      return current === undefined ? { op: "get", found: false } : { op: "get", found: true, ...current };
    case "put":
      store.set(input.key, { value: input.value, version: index });
      return { op: "put", version: index };
    case "cas":
      if ((current?.version ?? 0) !== input.expectVersion) return { op: "cas", ok: false };
      store.set(input.key, { value: input.value, version: index });
      return { op: "cas", ok: true, version: index };
    case "delete":
      store.delete(input.key);
      return { op: "delete", deleted: current !== undefined };
  }
}

export function simulateLinearizableHistory(seed: number, config: SimulationConfig): Operation[] {
  const random = seededRandom(seed);
  const planned = plan(random, config);
  const store: Store = new Map();
  let logIndex = 0;
  const applied = planned.filter((p) => p.linearizationTime !== undefined);
  applied.sort((a, b) => a.linearizationTime! - b.linearizationTime! || a.order - b.order);
  for (const { operation, order } of applied) {
    operation.input = chooseInput(random, operation.input.key, store, `v${order}`);
    const output = execute(store, operation.input, ++logIndex);
    if (Number.isFinite(operation.returnTime)) operation.output = output;
  }
  for (const { operation, order, linearizationTime } of planned) {
    if (linearizationTime === undefined) operation.input = chooseInput(random, operation.input.key, store, `lost${order}`);
  }
  return planned.map((p) => p.operation).sort((a, b) => a.callTime - b.callTime);
}
