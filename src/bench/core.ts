import { defaultRaftConfig } from "../raft/config.js";
import type { Message } from "../raft/messages.js";
import { SeededRandom } from "../raft/random.js";
import { RaftNode } from "../raft/raft.js";
import type { NodeId } from "../raft/types.js";
import { SimStorage } from "../sim/core/sim-storage.js";

export interface CoreBenchRow {
  readonly batch: number;
  readonly entries: number;
  readonly seconds: number;
  readonly entriesPerSecond: number;
  readonly messagesPerEntry: number;
}

const ENTRY_BYTES = 256;

/**
 * A 3-node cluster in one thread with instant, in-memory disks and network: what the
 * Raft core alone can commit, so we know it is never the bottleneck. Each round the
 * leader takes `batch` proposals, then every node's Ready is persisted, sent and
 * advanced until the cluster is idle.
 *
 * Why not the production loop (server/replica.ts), as the simulator runs: this measures
 * the core's own ceiling, and the Replica's promises, timers and state machine would be
 * what it measured (`kvraft bench cluster` measures the whole server).
 */
export function runCoreBench(options: { seconds?: number; batches?: readonly number[] } = {}): CoreBenchRow[] {
  const seconds = options.seconds ?? 1;
  return (options.batches ?? [1, 16, 256]).map((batch) => benchOne(batch, seconds));
}

function benchOne(batch: number, seconds: number): CoreBenchRow {
  const voters = [1, 2, 3];
  const random = new SeededRandom(batch);
  const nodes = new Map<NodeId, { raft: RaftNode; storage: SimStorage }>();
  for (const id of voters) {
    const storage = new SimStorage({ index: 1, term: 1, config: { voters, learners: [] }, sizeBytes: 0 });
    nodes.set(id, { storage, raft: new RaftNode({ ...defaultRaftConfig(id) }, storage, random.fork()) });
  }
  const inbox: Message[] = [];
  let messages = 0;
  const pump = (): void => {
    let busy = true;
    while (busy) {
      busy = false;
      for (const { raft, storage } of nodes.values()) {
        while (raft.hasReady()) {
          busy = true;
          const ready = raft.ready();
          for (const m of ready.messages) inbox.push(m);
          storage.apply({ hardState: ready.hardState, entries: ready.entries, snapshot: undefined });
          for (const m of ready.messagesAfterPersist) inbox.push(m);
          raft.advance(ready);
        }
      }
      while (inbox.length > 0) {
        busy = true;
        const m = inbox.shift() as Message;
        messages++;
        nodes.get(m.to)?.raft.step(m);
      }
    }
  };
  const leader = nodes.get(1)?.raft as RaftNode;
  while (leader.status().role !== "leader") {
    leader.tick();
    pump();
  }
  const payload = new Uint8Array(ENTRY_BYTES);
  const startCommit = leader.status().commit;
  messages = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < batch; i++) leader.propose(payload);
    pump();
  }
  const elapsed = (performance.now() - started) / 1000;
  const committed = leader.status().commit - startCommit;
  return {
    batch,
    entries: committed,
    seconds: Math.round(elapsed * 100) / 100,
    entriesPerSecond: Math.round(committed / elapsed),
    messagesPerEntry: Math.round((messages / Math.max(1, committed)) * 100) / 100,
  };
}
