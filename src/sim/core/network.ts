import type { Message } from "../../raft/messages.js";
import type { SeededRandom } from "../../raft/random.js";
import type { NodeId } from "../../raft/types.js";

/**
 * The simulated network between Raft nodes: per-message delay (so reordering), loss,
 * duplication, and cut links (symmetric and one-way partitions). It decides when and
 * whether a message arrives; the simulation schedules the arrival.
 */
export interface NetworkFaults {
  /** Probability that a message is dropped. */
  lossRate: number;
  /** Probability that a message is delivered twice. */
  duplicateRate: number;
  /** Probability that a message is held back for a long time (delivered late, out of order). */
  longDelayRate: number;
  /** Probability that a disk write stalls for tens of milliseconds. */
  diskStallRate: number;
}

export const MESSAGE_DELAY_MS_MIN = 1;
export const MESSAGE_DELAY_MS_JITTER = 4;
export const LONG_DELAY_MS_MAX = 300;

export class Network {
  /** Cut links, as "from>to". */
  private readonly cut = new Set<string>();
  faults: NetworkFaults = { lossRate: 0, duplicateRate: 0, longDelayRate: 0, diskStallRate: 0 };

  constructor(private readonly random: SeededRandom) {}

  isLinked(from: NodeId, to: NodeId): boolean {
    return !this.cut.has(`${from}>${to}`);
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  /** Splits nodes into groups that cannot reach each other in either direction. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const from of a) for (const to of b) this.cutLink(from, to);
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  hasPartition(): boolean {
    return this.cut.size > 0;
  }

  /** Delivery delays for one message: none when lost, two when duplicated. */
  deliveries(m: Message): number[] {
    if (!this.isLinked(m.from, m.to) || this.random.next() < this.faults.lossRate) return [];
    const delays = [this.delay()];
    if (this.random.next() < this.faults.duplicateRate) delays.push(this.delay());
    return delays;
  }

  private delay(): number {
    if (this.random.next() < this.faults.longDelayRate) return MESSAGE_DELAY_MS_MIN + this.random.int(LONG_DELAY_MS_MAX);
    return MESSAGE_DELAY_MS_MIN + this.random.next() * MESSAGE_DELAY_MS_JITTER;
  }
}
