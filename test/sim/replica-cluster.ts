import type { KvResult, KvStateMachine } from "../../src/kv/index.js";
import type { KvOutput, Operation } from "../../src/lincheck/index.js";
import type { Message } from "../../src/raft/messages.js";
import { SeededRandom } from "../../src/raft/random.js";
import type { NodeId, SnapshotMeta } from "../../src/raft/types.js";
import type { ReplicaPlant } from "../../src/server/replica-plant-names.js";
import type { Replica } from "../../src/server/replica.js";
import { SafetyChecker, ViolationError } from "../../src/sim/core/checker.js";
import { bootstrapSnapshot } from "../../src/sim/core/kv-adapter.js";
import { Network } from "../../src/sim/core/network.js";
import { ReplicaMember } from "../../src/sim/core/replica-member.js";
import { emptyStats } from "../../src/sim/core/types.js";
import { VirtualLoop } from "../../src/sim/core/virtual-loop.js";
import { NO_TRACE } from "../../src/trace/index.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const VOTERS = [1, 2, 3];
/** How long, in virtual ms, a leader may take to be elected, and one request to settle, before the run breaks liveness. */
const ELECTION_MS_MAX = 5_000;
const REQUEST_WAIT_MS_MAX = 10_000;
/** How long, in virtual ms, the members may take to converge once asked to. */
const CONVERGE_MS_MAX = 10_000;

export interface ReplicaClusterOptions {
  /** Probability that a disk write stalls for tens of milliseconds. */
  readonly diskStallRate?: number;
  /** Test-only: the disk reports writes done before they are durable (AsyncSimStorage). */
  readonly plantDoneBeforeDurable?: boolean;
  /** Test-only: a broken behaviour of every member's Replica (server/replica-plants.ts). */
  readonly plant?: ReplicaPlant;
}

/**
 * Three members running the production Replica on the simulator's virtual time, disk and
 * network, with the simulator's checks (checker.ts, member-checks.ts) on every message,
 * durable entry and apply. Requests go to the leader one after another; each is recorded
 * in `history` for the linearizability check (src/lincheck).
 */
export class ReplicaCluster {
  readonly loop = new VirtualLoop();
  readonly members = new Map<NodeId, ReplicaMember>();
  /** Every message sent and every replica event, with its virtual time: the run's fingerprint. */
  readonly log: string[] = [];
  readonly checker = new SafetyChecker({ voters: VOTERS, learners: [] });
  readonly stats = emptyStats();
  readonly network: Network;
  readonly random: SeededRandom;
  /** Every put and get answered, or whose outcome is unknown (a get that failed is left out). */
  readonly history: Operation[] = [];

  constructor(seed: number, options: ReplicaClusterOptions = {}) {
    const root = new SeededRandom(seed);
    this.network = new Network(root.fork());
    this.random = root.fork();
    const initial: SnapshotMeta = { index: 1, term: 1, config: { voters: VOTERS, learners: [] }, sizeBytes: 0 };
    const bootstrap = bootstrapSnapshot();
    for (const id of VOTERS) {
      const random = root.fork();
      const member = new ReplicaMember(id, {
        agenda: this.loop,
        random,
        faults: { diskStallRate: options.diskStallRate ?? 0 },
        checker: this.checker,
        stats: this.stats,
        tracer: NO_TRACE,
        failed: (error) => this.loop.fail(error),
        plantDoneBeforeDurable: options.plantDoneBeforeDurable,
        plant: options.plant,
        send: (m) => {
          this.log.push(`${this.loop.now().toFixed(3)} send ${m.type} ${m.from}>${m.to} term=${m.term}`);
          for (const delayMs of this.network.deliveries(m)) this.loop.after(delayMs, () => this.deliver(m));
        },
        onEvent: (from, event) => {
          this.log.push(`${this.loop.now().toFixed(3)} event ${from} ${event.type}`);
          // The simulated disk never fails: a Replica that stops on an error broke an invariant of its own.
          if (event.type === "fatal") this.loop.fail(event.error);
        },
      }, initial, bootstrap, random.int(40) - 20);
      this.members.set(id, member);
      member.start();
    }
  }

  /**
   * A check that fails inside the Replica's own loop is reported (failed) and the loop goes
   * on to the next event; one that fails on delivery would be thrown past it: reported
   * the same way, so the run ends with the first failure, whichever way it came.
   */
  private deliver(m: Message): void {
    try {
      this.members.get(m.to)?.receive(m);
    } catch (error) {
      this.loop.fail(error);
    }
  }

  leader(): ReplicaMember | undefined {
    return [...this.members.values()].find((member) => member.replica?.isLeader() === true);
  }

  async elect(): Promise<ReplicaMember> {
    if (!await this.loop.runUntil(() => this.leader() !== undefined, this.loop.now() + ELECTION_MS_MAX)) {
      throw new ViolationError({ invariant: "liveness", message: `no leader within ${ELECTION_MS_MAX} ms` });
    }
    return this.leader() as ReplicaMember;
  }

  /** Proposes `count` puts on the leader, one after another; resolves with their results. */
  async writes(count: number, prefix: string): Promise<KvResult[]> {
    const results: KvResult[] = [];
    for (let i = 0; i < count; i++) {
      const result = await this.put(`${prefix}${i % 5}`, `v${i}`);
      if (result !== undefined) results.push(result);
    }
    return results;
  }

  /** `count` puts, each followed by a read of a key of the same prefix; resolves with the puts answered. */
  async putsAndReads(count: number, prefix: string): Promise<number> {
    let answered = 0;
    for (let i = 0; i < count; i++) {
      if (await this.put(`${prefix}${i % 5}`, `v${i}`) !== undefined) answered++;
      await this.get(`${prefix}${this.random.int(5)}`);
    }
    return answered;
  }

  /** One put on the leader; undefined when its outcome is unknown (refused, timed out, or the leader crashed). */
  async put(key: string, value: string): Promise<KvResult | undefined> {
    const callTime = this.loop.now();
    const result = await this.request(await this.elect(), (replica) => replica.propose({ type: "put", key: encoder.encode(key), value: encoder.encode(value) }));
    const output: KvOutput | undefined = result?.ok === true && result.kind === "stored" ? { op: "put", version: result.version } : undefined;
    this.history.push({ clientId: 1, input: { op: "put", key, value }, callTime, returnTime: output === undefined ? Infinity : this.loop.now(), output });
    return result;
  }

  /** A linearizable read (ReadIndex, then its state) on a member picked at random; a failed one is left out of the history. */
  async get(key: string): Promise<void> {
    const callTime = this.loop.now();
    const output = await this.request(this.pickMember(), async (replica) => {
      await replica.readIndex();
      const read = replica.state().get(encoder.encode(key), replica.readStampMs());
      return read.ok ? { op: "get", found: true, value: decoder.decode(read.kv.value), version: read.kv.version } satisfies KvOutput : { op: "get", found: false } satisfies KvOutput;
    });
    if (output !== undefined) this.history.push({ clientId: 1, input: { op: "get", key }, callTime, returnTime: this.loop.now(), output });
  }

  /** A member that is up, at random; the leader once one is elected if none is. */
  private async pickMember(): Promise<ReplicaMember> {
    const up = [...this.members.values()].filter((member) => member.replica !== undefined);
    return up.length > 0 ? this.random.pick(up) : this.elect();
  }

  /** Runs `call` on `member` until it settles; undefined when it failed or the member crashed first (a crashed member never answers). */
  private async request<T>(member: ReplicaMember | Promise<ReplicaMember>, call: (replica: Replica) => Promise<T>): Promise<T | undefined> {
    const target = await member;
    const replica = target.replica as Replica;
    let answer: { value: T } | undefined;
    let failed = false;
    call(replica).then((value) => { answer = { value }; }, () => { failed = true; });
    if (!await this.loop.runUntil(() => answer !== undefined || failed || target.replica !== replica, this.loop.now() + REQUEST_WAIT_MS_MAX)) {
      throw new ViolationError({ invariant: "liveness", message: `a request to member ${target.id} was neither answered nor failed within ${REQUEST_WAIT_MS_MAX} ms` });
    }
    return answer?.value;
  }

  /** Every `everyMs` for `forMs`, a random member crashes (losing or tearing its writes in flight) and restarts `downMs` later. */
  crashes(everyMs: number, downMs: number, forMs: number): void {
    const endMs = this.loop.now() + forMs;
    const next = (): void => {
      if (this.loop.now() >= endMs) return;
      const member = this.members.get(this.random.pick(VOTERS)) as ReplicaMember;
      if (member.alive) {
        member.crash(); // Counts itself in stats (crashes, lossyCrashes).
        this.loop.after(downMs, () => member.start());
      }
      this.loop.after(everyMs * (0.5 + this.random.next()), next);
    };
    this.loop.after(everyMs, next);
  }

  /**
   * Runs until every member is up and has applied what the others applied, with the same
   * state; as the simulator's healed phase, members at one applied index with different
   * states break replica-convergence, and members that never get there break liveness.
   */
  async converge(): Promise<void> {
    if (await this.loop.runUntil(() => this.converged(), this.loop.now() + CONVERGE_MS_MAX)) return;
    const applied = [...this.members.values()].map((member) => member.replica?.state().appliedIndex);
    throw new ViolationError({ invariant: "liveness", message: `members did not converge within ${CONVERGE_MS_MAX} ms: applied indexes ${applied.join(", ")}` });
  }

  /** Whether every member is up with the same applied index and state; a state's digest is taken once per applied index. */
  private converged(): boolean {
    const states = [...this.members.values()].map((member) => member.replica?.state());
    const first = states[0];
    if (first === undefined || states.some((state) => state?.appliedIndex !== first.appliedIndex)) return false;
    const digests = new Set(states.map((state) => this.digestOf(state as KvStateMachine)));
    if (digests.size > 1) throw new ViolationError({ invariant: "replica-convergence", message: `members at applied index ${first.appliedIndex} have ${digests.size} different state digests` });
    return true;
  }

  private readonly digests = new WeakMap<KvStateMachine, { readonly appliedIndex: number; readonly digest: string }>();

  private digestOf(state: KvStateMachine): string {
    const known = this.digests.get(state);
    if (known?.appliedIndex === state.appliedIndex) return known.digest;
    const digest = state.digest();
    this.digests.set(state, { appliedIndex: state.appliedIndex, digest });
    return digest;
  }
}
