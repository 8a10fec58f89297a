import type { Operation } from "../../lincheck/history.js";
import type { Message } from "../../raft/messages.js";
import { SeededRandom } from "../../raft/random.js";
import type { Configuration, NodeId, SnapshotMeta } from "../../raft/types.js";
import type { Violation } from "./checker.js";
import { SafetyChecker } from "./checker.js";
import { ClientNetwork, clientAddressOf } from "./client-network.js";
import { countClientEvent, SimClient } from "./clients.js";
import { EventQueue } from "./event-queue.js";
import type { LeaderAdmin, SimControl } from "./faults.js";
import { scheduleFaults } from "./faults.js";
import type { HealedCluster } from "./healed-phase.js";
import { HEALED_PHASE_MS_MAX, HealedPhase } from "./healed-phase.js";
import { bootstrapSnapshot } from "./kv-adapter.js";
import { MESSAGE_DELAY_MS_MIN, Network } from "./network.js";
import type { HeldLane } from "./pause-gate.js";
import { PauseGate } from "./pause-gate.js";
import type { SituationDraws, Situations } from "./situations.js";
import { ALL_SITUATIONS, checkAppendWithinLimits, drawSituations, endsInsideStaleTail } from "./situations.js";
import type { PlantName } from "./plants.js";
import { ReplicaMember } from "./replica-member.js";
import { settle } from "./virtual-loop.js";
import { describeMessage, describeMessageFields, describeNode, roundMs, TraceLog } from "./trace.js";
import { memberHost, SimShivizTrace } from "./shiviz-trace.js";
import type { TraceStamp } from "../../trace/index.js";
import { emptyStats } from "./types.js";
import type { RunPoint, SimResult } from "./verdict.js";
import { judgeRun, violationAt, violationFrom } from "./verdict.js";

export type { SimResult } from "./verdict.js";

export interface SimOptions {
  readonly seed: number;
  readonly plant?: PlantName;
  readonly trace?: boolean;
  /** Virtual milliseconds of faults before everything heals. */
  readonly faultMs?: number;
  /** The fault phase goes on until at least this many steps have run. */
  readonly minSteps?: number;
  /** Record a ShiViz trace of at most this many events (see shiviz-trace.ts); undefined: none. */
  readonly shivizEventsMax?: number;
  /** Test-only: switch situations of the default schedule off (all on when absent). */
  readonly situations?: Partial<Situations>;
  /** Test-only: microtask turns settled after each event (MICROTASK_TURNS_PER_EVENT when absent). */
  readonly microtaskTurnsPerEvent?: number;
}

const NODE_POOL = 5;
const CLIENTS = 5;
const KEYS = ["a", "b", "c"];
const TICK_MS = 10;
const FAULT_START_MS = 100;
const DEFAULT_FAULT_MS = 1600;
/** One snapshot chunk in this many arrives corrupted (see maybeCorrupted). */
const SNAPSHOT_CHUNK_CORRUPT_EVERY = 7;

type SimEvent =
  /** `stamp` is the sender's trace stamp, undefined when not tracing. */
  | { readonly kind: "deliver"; readonly message: Message; readonly stamp: TraceStamp | undefined }
  | { readonly kind: "run"; readonly action: () => void }
  /** A timer that may be cancelled before it is due: a cancelled one is dropped unseen (no step, no settling). */
  | { readonly kind: "timer"; readonly action: () => void; cancelled: boolean };

/**
 * One seeded run of a whole cluster in one process: Raft nodes over modelled disks and
 * a modelled network, clients, and a fault schedule, all driven by one seed. The same
 * seed gives the same run, step for step.
 */
export class Simulation implements SimControl {
  readonly random: SeededRandom;
  readonly network: Network;
  readonly stats = emptyStats();
  private readonly queue = new EventQueue<SimEvent>();
  private readonly checker: SafetyChecker;
  private readonly nodes = new Map<NodeId, ReplicaMember>();
  private readonly clients: SimClient[] = [];
  private readonly clientNetwork: ClientNetwork;
  private readonly history: Operation[] = [];
  private readonly traceLog: TraceLog;
  /** The ShiViz trace (--shiviz); off unless options.shivizEventsMax is set. */
  readonly shiviz: SimShivizTrace;
  private clock = 0;
  private holds = 0;
  /** Snapshot chunks sent so far: every SNAPSHOT_CHUNK_CORRUPT_EVERY-th is corrupted. */
  private snapChunksSent = 0;
  /** Started at healing; it answers the liveness probes. */
  private healedPhase: HealedPhase | undefined;
  /** Set at healing: a run still going past this has lost liveness. */
  private hardStopMs = Infinity;
  private initialVoters: NodeId[] = [];
  private readonly situations: Situations;
  private readonly draws: SituationDraws;
  /** Members paused as by a GC pause or SIGSTOP, and what waits for them. */
  private readonly pauses = new PauseGate<SimEvent>();
  /** Tick rate per member (situations.ts); the healed phase ticks every clock at 1. */
  private readonly tickRates: Map<NodeId, number>;
  /** The first failure inside a member's own code (a check in its send or disk, a fatal error): it ends the run. */
  private failure: { readonly error: unknown } | undefined;

  constructor(private readonly options: SimOptions) {
    this.traceLog = new TraceLog(options.trace === true);
    this.shiviz = new SimShivizTrace(options.shivizEventsMax);
    const root = new SeededRandom(options.seed);
    this.random = root.fork();
    this.network = new Network(root.fork());
    const nodeRandom = root.fork();
    const clientRandom = root.fork();
    this.situations = { ...ALL_SITUATIONS, ...options.situations };
    const poolIds = Array.from({ length: NODE_POOL }, (_, i) => i + 1);
    this.draws = drawSituations(root.fork(), poolIds, this.situations);
    this.tickRates = new Map(this.draws.tickRates);
    this.stats.skewedClocks = this.tickRates.size;
    if (this.draws.messageLimits !== undefined) this.stats.smallMessageLimits = 1;
    const voterCount = this.random.next() < 0.5 ? 3 : 5;
    for (let id = 1; id <= voterCount; id++) this.initialVoters.push(id);
    this.checker = new SafetyChecker({ voters: this.initialVoters, learners: [] });
    const bootstrap = bootstrapSnapshot();
    this.clientNetwork = new ClientNetwork({
      after: (delay, action) => this.after(delay, action),
      onMember: (id, action) => this.onNode(id, "client", action),
      member: (id) => this.nodes.get(id),
      hopDelayMs: () => 0.5 + this.random.next(),
      shiviz: this.shiviz,
    });
    for (let id = 1; id <= NODE_POOL; id++) this.addNode(id, nodeRandom, bootstrap);
    for (let c = 1; c <= CLIENTS; c++) {
      const client = new SimClient(c, this.clientContext(), clientRandom.fork(), KEYS);
      this.clients.push(client);
      client.start(20 + c);
    }
  }

  /**
   * A member runs the production Replica (replica-member.ts). What it schedules (ticks,
   * disk writes, turns) goes through the pause gate: a paused process does nothing. Its
   * ticks run at its clock's rate (situations.ts) until the healed phase.
   */
  private addNode(id: NodeId, nodeRandom: SeededRandom, bootstrap: Uint8Array): void {
    const member = this.initialVoters.includes(id);
    const initial: SnapshotMeta = member
      ? { index: 1, term: 1, config: { voters: this.initialVoters, learners: [] }, sizeBytes: 0 }
      : { index: 0, term: 0, config: { voters: [], learners: [] }, sizeBytes: 0 };
    const random = nodeRandom.fork();
    const tickMs = TICK_MS * (0.8 + random.next() * 0.45);
    const node = new ReplicaMember(id, {
      agenda: { now: () => this.clock, after: (delay, action) => this.after(delay, () => this.onNode(id, "local", action)) },
      send: (m) => this.sendMessage(m),
      crashed: () => this.clientNetwork.memberDown(id),
      tracer: this.shiviz.tracer(memberHost(id)),
      checker: this.checker,
      random,
      plant: this.options.plant,
      stats: this.stats,
      faults: this.network.faults,
      messageLimits: this.draws.messageLimits,
      tickMs,
      tickRate: () => this.tickRates.get(id) ?? 1,
      failed: (error) => {
        this.failure ??= { error };
      },
    }, initial, member ? bootstrap : undefined, random.int(40) - 20);
    this.nodes.set(id, node);
    node.start();
  }

  // ---------------------------------------------------------------- plumbing

  now(): number {
    return this.clock;
  }

  after(delayMs: number, action: () => void): void {
    this.queue.push(this.clock + delayMs, { kind: "run", action });
  }

  /**
   * `action` after `delayMs`, unless the answer is called first. The clients time out
   * every attempt and most attempts are answered in time: their timers are dropped
   * without a step of their own.
   */
  timer(delayMs: number, action: () => void): () => void {
    const event: SimEvent = { kind: "timer", action, cancelled: false };
    this.queue.push(this.clock + delayMs, event);
    return () => {
      event.cancelled = true;
    };
  }

  private sendMessage(sent: Message): void {
    this.stats.messagesSent++;
    const sender = this.nodes.get(sent.from);
    if (sent.type === "App" && sender !== undefined) checkAppendWithinLimits(sent, sender.raftConfig);
    const m = this.maybeCorrupted(sent);
    const stamp = this.shiviz.enabled
      ? this.shiviz.tracer(memberHost(m.from)).send({ kind: m.type, to: memberHost(m.to), details: describeMessageFields(m) })
      : undefined;
    const deliveries = this.network.deliveries(m);
    if (deliveries.length === 0) this.stats.messagesDropped++;
    for (const delay of deliveries) this.queue.push(this.clock + delay, { kind: "deliver", message: m, stamp });
  }

  /** Runs `action` on member `id` now, or holds it in `lane` until the member resumes. */
  private onNode(id: NodeId, lane: HeldLane, action: () => void): void {
    if (!this.pauses.hold(id, lane, { kind: "run", action: () => this.onNode(id, lane, action) })) action();
  }

  /** A Raft message arrives; a live node records its receive (a down node never sees it). */
  private deliver(m: Message, stamp: TraceStamp | undefined): void {
    const node = this.nodes.get(m.to);
    if (m.type === "App" && node?.replica !== undefined && endsInsideStaleTail(m, node.replica)) this.stats.staleTailAppends++;
    if (this.shiviz.enabled && node?.alive === true) {
      this.shiviz.tracer(memberHost(m.to)).receive({ kind: m.type, from: memberHost(m.from), stamp, details: describeMessageFields(m) });
    }
    node?.receive(m);
  }

  /**
   * Every SNAPSHOT_CHUNK_CORRUPT_EVERY-th snapshot chunk arrives with one bit of its data
   * flipped, as over a faulty link: the follower must refuse the snapshot, never install
   * it, and the leader must send it again (raft/follower.ts). Counted, not drawn from the
   * random source, so that runs without snapshot transfers keep their schedules.
   */
  private maybeCorrupted(m: Message): Message {
    if (m.type !== "Snap" || m.data.length === 0) return m;
    this.snapChunksSent++;
    if (this.snapChunksSent % SNAPSHOT_CHUNK_CORRUPT_EVERY !== 0) return m;
    this.stats.snapshotChunksCorrupted++;
    const data = Uint8Array.from(m.data);
    const at = this.snapChunksSent % data.length;
    data[at] = (data[at] as number) ^ 0x01;
    return { ...m, data };
  }

  private clientContext(): ConstructorParameters<typeof SimClient>[1] {
    return {
      now: () => this.clock,
      after: (delay, action) => this.after(delay, action),
      timer: (delay, action) => this.timer(delay, action),
      opener: (clientId, forward, runtime) => this.clientNetwork.opener(clientId, forward, runtime),
      endpoints: () => [...this.nodes.keys()].map(clientAddressOf),
      record: (op) => this.history.push(op),
      countOp: () => this.stats.clientOps++,
      onEvent: (event) => countClientEvent(this.stats, event),
    };
  }

  // ---------------------------------------------------------------- SimControl

  allIds(): readonly NodeId[] {
    return [...this.nodes.keys()];
  }

  private leaderNode(): ReplicaMember | undefined {
    let best: ReplicaMember | undefined;
    let bestTerm = -1;
    for (const node of this.nodes.values()) {
      const replica = node.replica;
      if (replica === undefined || !replica.isLeader()) continue;
      const term = replica.status().term;
      if (term > bestTerm) {
        best = node;
        bestTerm = term;
      }
    }
    return best;
  }

  leaderId(): NodeId | undefined {
    return this.leaderNode()?.id;
  }

  memberIds(): readonly NodeId[] {
    const config = this.leaderNode()?.replica?.configuration();
    return config === undefined ? this.initialVoters : [...config.voters, ...config.learners];
  }

  voterIds(): readonly NodeId[] {
    return this.leaderNode()?.replica?.configuration().voters ?? this.initialVoters;
  }

  committedConfiguration(): Configuration {
    return this.checker.committedConfig;
  }

  isAlive(id: NodeId): boolean {
    return this.nodes.get(id)?.alive ?? false;
  }

  holdsDurably(id: NodeId, index: number, term: number): boolean {
    return this.nodes.get(id)?.holdsDurably(index, term) ?? false;
  }

  catchingUpAfterLostDisk(id: NodeId): boolean {
    return this.nodes.get(id)?.catchingUpAfterLostDisk ?? false;
  }

  armCrash(id: NodeId, onCrash: () => void): void {
    this.nodes.get(id)?.armCrash(onCrash);
  }

  crash(id: NodeId): void {
    this.trace(`crash node ${id}`);
    this.pauses.drop(id);
    if (this.shiviz.enabled && this.isAlive(id)) this.shiviz.tracer(memberHost(id)).local("crash");
    const wasAlive = this.isAlive(id);
    this.nodes.get(id)?.crash();
    if (wasAlive) this.closeConnectionsOf(id);
  }

  /**
   * A process that dies has its sockets closed by its kernel: every member its link still
   * reaches sees the connection drop, after one message delay (a cut link carries no FIN).
   */
  private closeConnectionsOf(id: NodeId): void {
    for (const [otherId, other] of this.nodes) {
      if (otherId === id || !this.network.isLinked(id, otherId)) continue;
      this.after(MESSAGE_DELAY_MS_MIN, () => this.onNode(otherId, "message", () => other.connectionLost(id)));
    }
  }

  restart(id: NodeId, wiped: boolean): void {
    const node = this.nodes.get(id);
    if (node === undefined || (node.alive && !wiped)) return;
    this.trace(`restart node ${id}${wiped ? " with an empty disk" : ""}`);
    this.pauses.drop(id);
    if (this.shiviz.enabled) this.shiviz.tracer(memberHost(id)).local(wiped ? "restart with an empty disk" : "restart");
    node.restart(wiped);
  }

  pause(id: NodeId, durationMs: number): boolean {
    if (!this.isAlive(id) || !this.pauses.pause(id)) return false;
    this.stats.pauses++;
    this.trace(`pause node ${id} for ${roundMs(durationMs)} ms`);
    if (this.shiviz.enabled) this.shiviz.tracer(memberHost(id)).local("pause");
    this.after(durationMs, () => this.resume(id));
    return true;
  }

  /** Runs a paused member again; what it held runs now, in order (pause-gate.ts). */
  private resume(id: NodeId): void {
    if (!this.pauses.isPaused(id)) return; // Crashed meanwhile: a new process is not paused.
    const node = this.nodes.get(id);
    const newerLeader = this.leaderNode();
    if (node?.replica?.isLeader() === true && newerLeader !== undefined && newerLeader !== node) this.stats.pausedLeadersDeposed++;
    this.trace(`resume node ${id}`);
    if (this.shiviz.enabled) this.shiviz.tracer(memberHost(id)).local("resume");
    for (const event of this.pauses.resume(id)) this.queue.push(this.clock, event);
  }

  withLeader(action: (leader: LeaderAdmin) => void): boolean {
    const node = this.leaderNode();
    // A paused leader takes no admin calls: to the caller it is as if there were none.
    const admin = node === undefined || this.pauses.isPaused(node.id) ? undefined : node.admin();
    if (admin === undefined) return false;
    action(admin);
    return true;
  }

  holdFinish(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (!released) this.holds--;
      released = true;
    };
  }

  trace(line: string): void {
    this.traceLog.add(this.clock, this.stats.steps, line);
  }

  /** One line per node: what a trace reader needs to see of the state that broke. */
  describeNodes(): string[] {
    return [...this.nodes.values()].map(describeNode);
  }

  // ---------------------------------------------------------------- the run

  async run(): Promise<SimResult> {
    const faultEnd = FAULT_START_MS + (this.options.faultMs ?? DEFAULT_FAULT_MS);
    scheduleFaults(this, { startMs: FAULT_START_MS, endMs: faultEnd, situations: this.situations });
    let violation: Violation | undefined;
    let finished = false;
    const minSteps = this.options.minSteps ?? 0;
    const healWhenDone = (): void => {
      if (this.stats.steps < minSteps) this.after(100, healWhenDone);
      else this.heal(() => { finished = true; });
    };
    this.after(faultEnd, healWhenDone);
    try {
      while (!finished) {
        const next = this.queue.pop();
        if (next === undefined || next.at > this.hardStopMs) break;
        if (next.event.kind === "timer" && next.event.cancelled) continue;
        this.clock = next.at;
        this.stats.steps++;
        if (next.event.kind === "deliver") {
          const m = next.event.message;
          if (this.pauses.hold(m.to, "message", next.event)) continue;
          if (this.traceLog.enabled) this.trace(`deliver ${describeMessage(m)}`);
          this.deliver(m, next.event.stamp);
        } else {
          next.event.action();
        }
        await settle(this.options.microtaskTurnsPerEvent);
        if (this.failure !== undefined) throw this.failure.error;
      }
      if (!finished) violation = violationAt(this.point(), "liveness", "the run did not finish: no leader committed, or members did not converge, in time");
    } catch (error) {
      // A check that failed inside a member's own code came first: the Replica took it for
      // an error of its own and the member went on (a later check can then fail for it).
      violation = violationFrom(this.point(), this.failure?.error ?? error);
    }
    return this.finish(violation);
  }

  /** Lifts every fault and starts the healed phase, which ends the run through `onDone`. */
  private heal(onDone: () => void): void {
    this.trace("heal: network restored, every node restarted");
    this.hardStopMs = this.clock + HEALED_PHASE_MS_MAX;
    this.network.heal();
    for (const id of this.pauses.pausedIds()) this.resume(id);
    this.tickRates.clear();
    Object.assign(this.network.faults, { lossRate: 0, duplicateRate: 0, longDelayRate: 0, diskStallRate: 0 });
    for (const id of this.nodes.keys()) this.restart(id, false);
    this.healedPhase = new HealedPhase(this.healedCluster(), onDone);
    this.healedPhase.start();
  }

  private healedCluster(): HealedCluster {
    return {
      stats: this.stats,
      clients: this.clients,
      now: () => this.clock,
      after: (delay, action) => this.after(delay, action),
      trace: (line) => this.trace(line),
      leaderNode: () => this.leaderNode(),
      memberNodes: () => this.memberIds().map((id) => this.nodes.get(id) as ReplicaMember),
      armCrash: (id, onCrash) => this.armCrash(id, onCrash),
      restart: (id, wiped) => this.restart(id, wiped),
      hasHeldWork: () => this.holds > 0,
    };
  }

  private finish(violation: Violation | undefined): SimResult {
    for (const client of this.clients) client.giveUp();
    return judgeRun({
      seed: this.options.seed, plant: this.options.plant, stats: this.stats, checker: this.checker,
      history: this.history, trace: this.traceLog.lines, stoppedAt: this.point(), violation,
    });
  }

  private point(): RunPoint {
    return { step: this.stats.steps, timeMs: roundMs(this.clock) };
  }
}

export function runSimulation(options: SimOptions): Promise<SimResult> {
  return new Simulation(options).run();
}
