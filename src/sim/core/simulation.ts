import { checkHistory } from "../../lincheck/index.js";
import type { Operation } from "../../lincheck/history.js";
import { InvariantViolation } from "../../raft/invariant.js";
import type { Message } from "../../raft/messages.js";
import { SeededRandom } from "../../raft/random.js";
import type { RaftNode } from "../../raft/raft.js";
import type { Configuration, NodeId, SnapshotMeta } from "../../raft/types.js";
import type { Violation } from "./checker.js";
import { SafetyChecker, ViolationError } from "./checker.js";
import { SimClient } from "./clients.js";
import { EventQueue } from "./event-queue.js";
import type { SimControl } from "./faults.js";
import { scheduleFaults } from "./faults.js";
import { kvFactory } from "./kv-adapter.js";
import { Network } from "./network.js";
import type { PlantName } from "./plants.js";
import { SimNode } from "./sim-node.js";
import type { ClientReply, ClientRequest, SimStats } from "./types.js";
import { emptyStats } from "./types.js";

export interface SimOptions {
  readonly seed: number;
  readonly plant?: PlantName;
  readonly trace?: boolean;
  /** Virtual milliseconds of faults before everything heals. */
  readonly faultMs?: number;
  /** The fault phase goes on until at least this many steps have run. */
  readonly minSteps?: number;
}

export interface SimResult {
  readonly seed: number;
  readonly violation: Violation | undefined;
  readonly stats: SimStats;
  readonly operations: number;
  readonly linearizability: "ok" | "illegal" | "unknown" | "skipped";
  /** Fault kinds a default-schedule run must have but this one did not. */
  readonly missingCoverage: readonly string[];
  readonly trace: readonly string[];
}

const NODE_POOL = 5;
const CLIENTS = 5;
const KEYS = ["a", "b", "c"];
const TICK_MS = 10;
const FAULT_START_MS = 100;
const DEFAULT_FAULT_MS = 1600;
/** After healing, a leader must commit a new entry within this long (liveness). */
const LIVENESS_MS = 3000;
/** A run goes on (healed) until its clients have done at least this many operations. */
const MIN_CLIENT_OPS = 200;
/** How long a healed run may take to finish held work and reach the operation count. */
const FINISH_MS_MAX = 5000;
/** A liveness probe unanswered for this long is sent again. */
const PROBE_TIMEOUT_MS = 200;
/** Clients keep working this long after the cluster has converged. */
const CALM_MS = 300;
/** After that, every member must catch up within this long. */
const CONVERGENCE_MS = 3000;

type SimEvent = { readonly kind: "deliver"; readonly message: Message } | { readonly kind: "run"; readonly action: () => void };

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
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly clients: SimClient[] = [];
  private readonly history: Operation[] = [];
  private readonly traceLines: string[] = [];
  private clock = 0;
  private holds = 0;
  private forcedCrash = false;
  /** Set at healing: a run still going past this has lost liveness. */
  private hardStopMs = Infinity;
  private initialVoters: NodeId[] = [];

  constructor(private readonly options: SimOptions) {
    const root = new SeededRandom(options.seed);
    this.random = root.fork();
    this.network = new Network(root.fork());
    const nodeRandom = root.fork();
    const clientRandom = root.fork();
    const voterCount = this.random.next() < 0.5 ? 3 : 5;
    for (let id = 1; id <= voterCount; id++) this.initialVoters.push(id);
    this.checker = new SafetyChecker({ voters: this.initialVoters, learners: [] });
    for (let id = 1; id <= NODE_POOL; id++) this.addNode(id, nodeRandom);
    for (let c = 1; c <= CLIENTS; c++) {
      const client = new SimClient(c, this.clientContext(), clientRandom.fork(), KEYS);
      this.clients.push(client);
      client.start(20 + c);
    }
  }

  private addNode(id: NodeId, nodeRandom: SeededRandom): void {
    const member = this.initialVoters.includes(id);
    const initial: SnapshotMeta = member
      ? { index: 1, term: 1, config: { voters: this.initialVoters, learners: [] }, sizeBytes: 0 }
      : { index: 0, term: 0, config: { voters: [], learners: [] }, sizeBytes: 0 };
    const random = nodeRandom.fork();
    const node = new SimNode(id, {
      now: () => this.clock,
      send: (m) => this.sendMessage(m),
      after: (delay, action) => this.after(delay, action),
      reply: (request, reply) => this.replyToClient(request, reply),
      checker: this.checker,
      random,
      plant: this.options.plant,
      stats: this.stats,
      factory: kvFactory,
      faults: this.network.faults,
    }, initial, random.int(40) - 20);
    this.nodes.set(id, node);
    const tickMs = TICK_MS * (0.8 + random.next() * 0.45);
    const tick = (): void => {
      node.tick();
      this.after(tickMs, tick);
    };
    this.after(random.next() * tickMs, tick);
  }

  // ---------------------------------------------------------------- plumbing

  now(): number {
    return this.clock;
  }

  after(delayMs: number, action: () => void): void {
    this.queue.push(this.clock + delayMs, { kind: "run", action });
  }

  private sendMessage(m: Message): void {
    this.stats.messagesSent++;
    const deliveries = this.network.deliveries(m);
    if (deliveries.length === 0) this.stats.messagesDropped++;
    for (const delay of deliveries) this.queue.push(this.clock + delay, { kind: "deliver", message: m });
  }

  private clientContext(): ConstructorParameters<typeof SimClient>[1] {
    return {
      now: () => this.clock,
      after: (delay, action) => this.after(delay, action),
      send: (to, request) => this.after(0.5 + this.random.next(), () => this.nodes.get(to)?.handleClient(request)),
      nodeIds: () => [...this.nodes.keys()],
      record: (op) => this.history.push(op),
      countOp: () => this.stats.clientOps++,
    };
  }

  private replyToClient(request: ClientRequest, reply: ClientReply): void {
    const client = this.clients[request.clientId - 1];
    const onReply = request.clientId === 0 ? this.probeReply : (r: ClientReply) => client?.onReply(request.requestId, r);
    this.after(0.5 + this.random.next(), () => onReply?.(reply));
  }

  private probeReply: ((reply: ClientReply) => void) | undefined;

  // ---------------------------------------------------------------- SimControl

  allIds(): readonly NodeId[] {
    return [...this.nodes.keys()];
  }

  private leaderNode(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const node of this.nodes.values()) {
      const status = node.raft?.status();
      if (status?.role === "leader" && status.term > bestTerm) {
        best = node;
        bestTerm = status.term;
      }
    }
    return best;
  }

  leaderId(): NodeId | undefined {
    return this.leaderNode()?.id;
  }

  memberIds(): readonly NodeId[] {
    const config = this.leaderNode()?.raft?.configuration();
    return config === undefined ? this.initialVoters : [...config.voters, ...config.learners];
  }

  voterIds(): readonly NodeId[] {
    return this.leaderNode()?.raft?.configuration().voters ?? this.initialVoters;
  }

  committedConfiguration(): Configuration {
    return this.checker.committedConfig;
  }

  isAlive(id: NodeId): boolean {
    return this.nodes.get(id)?.alive ?? false;
  }

  armCrash(id: NodeId, onCrash: () => void): void {
    const node = this.nodes.get(id);
    if (node !== undefined) node.crashArmed = onCrash;
  }

  crash(id: NodeId): void {
    this.trace(`crash node ${id}`);
    this.nodes.get(id)?.crash();
  }

  restart(id: NodeId, wiped: boolean): void {
    const node = this.nodes.get(id);
    if (node === undefined || (node.alive && !wiped)) return;
    this.trace(`restart node ${id}${wiped ? " with an empty disk" : ""}`);
    node.restart(wiped);
  }

  withLeader(action: (raft: RaftNode) => void): boolean {
    const node = this.leaderNode();
    if (node?.raft === undefined) return false;
    node.admin((raft) => {
      action(raft);
      return { ok: true, index: 0, term: 0 };
    });
    return true;
  }

  /** One line per node: what a trace reader needs to see of the state that broke. */
  describeNodes(): string[] {
    return [...this.nodes.values()].map((node) => {
      const st = node.raft?.status();
      if (st === undefined) return `node ${node.id}: down (durable term ${node.storage.hardState().term}, last index ${node.storage.lastIndex()})`;
      return `node ${node.id}: ${st.role} term ${st.term} leader ${st.leader} commit ${st.commit} applied ${st.applied} last ${st.lastIndex}`
        + ` voters [${st.voters.join(",")}] learners [${st.learners.join(",")}]${st.nonVoting ? " non-voting" : ""}`;
    });
  }

  // ---------------------------------------------------------------- the run

  run(): SimResult {
    const faultEnd = FAULT_START_MS + (this.options.faultMs ?? DEFAULT_FAULT_MS);
    scheduleFaults(this, { startMs: FAULT_START_MS, endMs: faultEnd });
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
        this.clock = next.at;
        this.stats.steps++;
        if (next.event.kind === "deliver") {
          const m = next.event.message;
          if (this.options.trace === true) this.trace(`deliver ${describe(m)}`);
          this.nodes.get(m.to)?.receive(m);
        } else {
          next.event.action();
        }
      }
      if (!finished) violation = this.violationAt("liveness", "the run did not finish: no leader committed, or members did not converge, in time");
    } catch (error) {
      violation = this.toViolation(error);
    }
    return this.finish(violation);
  }

  private heal(onDone: () => void): void {
    this.trace("heal: network restored, every node restarted");
    this.hardStopMs = this.clock + LIVENESS_MS + CONVERGENCE_MS + CALM_MS + FINISH_MS_MAX;
    this.network.heal();
    Object.assign(this.network.faults, { lossRate: 0, duplicateRate: 0, longDelayRate: 0, diskStallRate: 0 });
    for (const id of this.nodes.keys()) this.restart(id, false);
    const livenessDeadline = this.clock + LIVENESS_MS;
    let probeSeq = 0;
    const probing = { done: false };
    const probe = (): void => {
      if (this.clock > livenessDeadline) throw new ViolationError({ invariant: "liveness", message: `no leader committed a new entry within ${LIVENESS_MS} ms of healing` });
      const leader = this.leaderNode();
      const requestId = `probe.${++probeSeq}`;
      this.probeReply = (reply) => {
        if (probing.done) return;
        if (reply.ok) {
          probing.done = true;
          this.awaitConvergence(onDone);
        } else {
          this.after(20, probe);
        }
      };
      leader?.handleClient({ clientId: 0, requestId, op: { kind: "probe" } });
      if (leader === undefined) {
        this.after(20, probe);
        return;
      }
      // A probe whose leader loses it without answering is simply sent again.
      const sent = probeSeq;
      this.after(PROBE_TIMEOUT_MS, () => {
        if (probeSeq === sent && !probing.done) probe();
      });
    };
    probe();
  }

  /**
   * Clients pause (operations under way finish), every member catches up to the
   * leader's commit, and all must hold the same state; then clients carry on.
   */
  private awaitConvergence(onDone: () => void): void {
    const deadline = this.clock + CONVERGENCE_MS;
    for (const client of this.clients) client.pause();
    const check = (): void => {
      const leader = this.leaderNode();
      const commit = leader?.raft?.status().commit ?? 0;
      const members = this.memberIds().map((id) => this.nodes.get(id) as SimNode);
      const quiet = this.clients.every((client) => client.isIdle()) && leader?.raft?.status().lastIndex === commit;
      const caughtUp = leader !== undefined && quiet && members.every((node) => node.alive && node.appliedIndex() >= commit);
      if (caughtUp) {
        const digests = new Set(members.filter((node) => node.appliedIndex() === commit).map((node) => node.digest()));
        if (digests.size > 1) throw new ViolationError({ invariant: "replica-convergence", message: `members at applied index ${commit} have ${digests.size} different state digests` });
        // Clients work on in the healed cluster for a while: that is when lost or
        // stale data would show.
        for (const client of this.clients) client.resume();
        this.after(CALM_MS, () => this.finishWhenCovered(onDone));
        return;
      }
      if (this.clock > deadline) throw new ViolationError({ invariant: "liveness", message: `members did not catch up to commit ${commit} within ${CONVERGENCE_MS} ms` });
      this.after(20, check);
    };
    check();
  }

  /** Ends the run once held work is done and the clients have done enough operations. */
  private finishWhenCovered(onDone: () => void): void {
    if (this.stats.lossyCrashes === 0 && !this.forcedCrash) {
      // Every seed must lose an unsynced write at least once: the leader writes whenever
      // a client does, so a crash armed on it lands mid-write.
      const leader = this.leaderId();
      if (leader !== undefined) {
        this.forcedCrash = true;
        this.trace(`coverage: arming a crash on leader ${leader} at its next write`);
        this.armCrash(leader, () => this.after(30, () => this.restart(leader, false)));
      }
    }
    if (this.holds > 0 || this.stats.clientOps < MIN_CLIENT_OPS || this.stats.lossyCrashes === 0) {
      this.after(20, () => this.finishWhenCovered(onDone));
      return;
    }
    for (const client of this.clients) client.stopped = true;
    onDone();
  }

  holdFinish(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (!released) this.holds--;
      released = true;
    };
  }

  private finish(violation: Violation | undefined): SimResult {
    for (const client of this.clients) client.giveUp();
    let linearizability: SimResult["linearizability"] = "skipped";
    if (violation === undefined) {
      try {
        this.checker.checkAcknowledgedWrites();
      } catch (error) {
        violation = this.toViolation(error);
      }
    }
    if (violation === undefined) {
      const verdict = checkHistory(this.history);
      linearizability = verdict.verdict;
      if (verdict.verdict !== "ok") {
        violation = this.violationAt("linearizability", verdict.verdict === "illegal"
          ? `the clients' history is not linearizable (key ${verdict.failingKey ?? "?"})`
          : "the linearizability check ran out of its step budget (unknown is not a pass)");
      }
    }
    const missingCoverage = this.options.plant === undefined ? this.missingCoverage() : [];
    return { seed: this.options.seed, violation, stats: this.stats, operations: this.history.length, linearizability, missingCoverage, trace: this.traceLines };
  }

  private missingCoverage(): string[] {
    const required: [string, number][] = [
      ["steps>=2000", this.stats.steps >= 2000 ? 1 : 0],
      [`clientOps>=${MIN_CLIENT_OPS}`, this.stats.clientOps >= MIN_CLIENT_OPS ? 1 : 0],
      ["lossyCrashes", this.stats.lossyCrashes],
      ["partitions", this.stats.partitions],
      ["membershipChanges", this.stats.membershipChanges],
      ["snapshotInstalls", this.stats.snapshotInstalls],
    ];
    return required.filter(([, count]) => count === 0).map(([name]) => name);
  }

  private violationAt(invariant: string, message: string): Violation {
    return { invariant, message, step: this.stats.steps, timeMs: round(this.clock) };
  }

  private toViolation(error: unknown): Violation {
    if (error instanceof ViolationError) return this.violationAt(error.violation.invariant, error.violation.message);
    if (error instanceof InvariantViolation) return this.violationAt("core-invariant", error.message);
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return this.violationAt("exception", message);
  }

  trace(line: string): void {
    if (this.options.trace === true) this.traceLines.push(`t=${round(this.clock)} step=${this.stats.steps} ${line}`);
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function describe(m: Message): string {
  const base = `${m.type} ${m.from}->${m.to} term=${m.term}`;
  switch (m.type) {
    case "App":
      return `${base} prev=${m.prevIndex}/${m.prevTerm} entries=${m.entries.length} commit=${m.commit}`;
    case "AppResp":
      return `${base} ${m.reject ? "reject" : "ok"} index=${m.index}`;
    case "Vote":
    case "PreVote":
      return `${base} last=${m.lastIndex}/${m.lastTerm}`;
    case "VoteResp":
    case "PreVoteResp":
      return `${base} ${m.reject ? "reject" : "grant"}`;
    default:
      return base;
  }
}

export function runSimulation(options: SimOptions): SimResult {
  return new Simulation(options).run();
}
