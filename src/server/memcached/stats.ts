import type { ConnectionCounts } from "../tcp-port/listener.js";
import type { StatLine } from "./replies.js";

/**
 * The per-server counters behind `stats`, named as memcached names them so that
 * monitoring built for memcached reads them unchanged.
 */
export const COUNTER_NAMES = [
  "cmd_get",
  "cmd_set",
  "cmd_flush",
  "cmd_touch",
  "get_hits",
  "get_misses",
  "delete_hits",
  "delete_misses",
  "incr_hits",
  "incr_misses",
  "decr_hits",
  "decr_misses",
  "cas_hits",
  "cas_misses",
  "cas_badval",
  "touch_hits",
  "touch_misses",
] as const;

export type CounterName = (typeof COUNTER_NAMES)[number];

export class CommandCounters {
  private readonly values = new Map<CounterName, number>(COUNTER_NAMES.map((name) => [name, 0]));

  add(name: CounterName, count = 1): void {
    this.values.set(name, this.get(name) + count);
  }

  get(name: CounterName): number {
    return this.values.get(name) ?? 0;
  }

  /** `stats reset`: counters start again from zero; connection counts are not counters. */
  reset(): void {
    for (const name of COUNTER_NAMES) this.values.set(name, 0);
  }

  lines(): StatLine[] {
    return COUNTER_NAMES.map((name) => [name, this.get(name)] as const);
  }
}

/** What the server knows about itself for the `stats` reply. */
export interface ServerFacts extends ConnectionCounts {
  readonly pid: number;
  readonly uptimeSeconds: number;
  readonly nowSeconds: number;
  /** The memcached version answered by `version`. */
  readonly version: string;
  /** KVRaft's own version (the program's), which `version` cannot carry. */
  readonly kvraftVersion: string;
}

export function generalStatLines(facts: ServerFacts, counters: CommandCounters): StatLine[] {
  return [
    ["pid", facts.pid],
    ["uptime", facts.uptimeSeconds],
    ["time", facts.nowSeconds],
    ["version", facts.version],
    ["kvraft_version", facts.kvraftVersion],
    ["curr_connections", facts.connectionsCurrent],
    ["total_connections", facts.connectionsTotal],
    ["rejected_connections", facts.connectionsRejected],
    ...counters.lines(),
  ];
}
