import type { KvInput, KvOutput, Operation } from "../../lincheck/history.js";
import type { SeededRandom } from "../../raft/random.js";
import type { NodeId } from "../../raft/types.js";
import type { ClientOp, ClientReply, ClientRequest } from "./types.js";

export interface ClientContext {
  now(): number;
  after(delayMs: number, action: () => void): void;
  /** Sends a request to a node; the reply (if any) comes back through `onReply`. */
  send(to: NodeId, request: ClientRequest): void;
  nodeIds(): readonly NodeId[];
  record(op: Operation): void;
  countOp(): void;
}

/** The share of operations on expiring keys, outside the linearizability check. */
const EXPIRING_SHARE = 0.1;
/** How long a client waits for one attempt before trying another node. */
export const REQUEST_TIMEOUT_MS = 150;
/** How long a client keeps retrying one operation before giving up on it. */
export const OPERATION_DEADLINE_MS = 1500;

interface Attempt {
  readonly input: KvInput | undefined;
  readonly op: ClientOp;
  readonly callTime: number;
  readonly deadline: number;
  requestId: string;
}

/**
 * A simulated client: one operation at a time, a seeded mix of get, put, cas and
 * delete over a few keys, each value unique so that a read names the write it saw.
 * It retries across nodes with the same session and sequence number (exactly-once),
 * and records each operation's invocation and completion for the linearizability
 * check; an operation given up on is recorded as of unknown outcome.
 */
export class SimClient {
  private sessionId = 0;
  private seq = 0;
  private attemptNo = 0;
  private target: NodeId;
  private current: Attempt | undefined;
  private readonly versions = new Map<string, number>();
  stopped = false;
  /** While paused, the client starts no new operation (the one under way finishes). */
  private paused = false;
  private idle = false;

  constructor(readonly id: number, private readonly ctx: ClientContext, private readonly random: SeededRandom, private readonly keys: readonly string[]) {
    this.target = random.pick(ctx.nodeIds());
  }

  start(delayMs: number): void {
    this.ctx.after(delayMs, () => this.next());
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    if (this.idle) {
      this.idle = false;
      this.ctx.after(this.random.int(8), () => this.next());
    }
  }

  isIdle(): boolean {
    return this.idle || this.stopped;
  }

  private next(): void {
    if (this.stopped) return;
    if (this.paused) {
      this.idle = true;
      return;
    }
    if (this.sessionId === 0) {
      this.begin(undefined, { kind: "register" });
      return;
    }
    if (this.random.next() < EXPIRING_SHARE) {
      // Expiring keys live beside the checked ones: every replica must expire them at
      // the same log position (the state digests and apply results are compared).
      const key = `ttl:${this.random.int(3)}`;
      if (this.random.next() < 0.5) {
        this.begin(undefined, { kind: "read", key });
      } else {
        this.seq++;
        const session = { sessionId: this.sessionId, seq: this.seq, lowestUnackedSeq: this.seq };
        this.begin(undefined, { kind: "expiring-put", session, key, value: `c${this.id}s${this.seq}`, ttlMs: 5 + this.random.int(200) });
      }
      return;
    }
    const input = this.pickInput();
    if (input.op === "get") {
      this.begin(input, { kind: "read", key: input.key });
    } else {
      this.seq++;
      this.begin(input, { kind: "write", input, session: { sessionId: this.sessionId, seq: this.seq, lowestUnackedSeq: this.seq } });
    }
  }

  private pickInput(): KvInput {
    const key = this.random.pick(this.keys);
    const roll = this.random.next();
    const value = `c${this.id}s${this.seq + 1}`;
    if (roll < 0.4) return { op: "get", key };
    if (roll < 0.7) return { op: "put", key, value };
    if (roll < 0.85) {
      const known = this.versions.get(key) ?? 0;
      const expectVersion = this.random.next() < 0.8 ? known : this.random.int(3);
      return { op: "cas", key, expectVersion, value };
    }
    return { op: "delete", key };
  }

  private begin(input: KvInput | undefined, op: ClientOp): void {
    const now = this.ctx.now();
    this.current = { input, op, callTime: now, deadline: now + OPERATION_DEADLINE_MS, requestId: "" };
    this.ctx.countOp();
    this.attempt();
  }

  private attempt(): void {
    const current = this.current;
    if (current === undefined) return;
    if (this.ctx.now() >= current.deadline || this.stopped) {
      this.giveUp();
      return;
    }
    const requestId = `${this.id}.${++this.attemptNo}`;
    current.requestId = requestId;
    this.ctx.send(this.target, { clientId: this.id, requestId, op: current.op });
    this.ctx.after(REQUEST_TIMEOUT_MS, () => {
      if (this.current === current && current.requestId === requestId) {
        this.target = this.random.pick(this.ctx.nodeIds());
        this.attempt();
      }
    });
  }

  onReply(requestId: string, reply: ClientReply): void {
    const current = this.current;
    if (current === undefined || current.requestId !== requestId) return; // A reply to an abandoned attempt.
    current.requestId = "";
    if (!reply.ok) {
      this.target = reply.leader !== 0 && reply.error === "not-leader" ? reply.leader : this.random.pick(this.ctx.nodeIds());
      this.ctx.after(1 + this.random.int(10), () => this.attempt());
      return;
    }
    const outcome = reply.outcome;
    this.current = undefined;
    if (current.op.kind === "register") {
      this.sessionId = outcome.sessionId ?? 0;
    } else if (outcome.refused !== undefined) {
      this.sessionId = 0; // Failed for sure (never applied): register again; not in the history.
    } else if (current.input !== undefined && outcome.output !== undefined) {
      this.complete(current, outcome.output);
    }
    this.ctx.after(this.random.int(8), () => this.next());
  }

  private complete(current: Attempt, output: KvOutput): void {
    const input = current.input as KvInput;
    // The state machine answers a compare-and-set as the put it is.
    if (input.op === "cas" && output.op === "put") output = { op: "cas", ok: true, version: output.version };
    if ("version" in output && output.version !== undefined) this.versions.set(input.key, output.version);
    this.ctx.record({ clientId: this.id, input, callTime: current.callTime, returnTime: this.ctx.now(), output });
  }

  /** Stops retrying: a write's effect is now unknown; a read had none. */
  giveUp(): void {
    const current = this.current;
    if (current === undefined) return;
    this.current = undefined;
    if (current.input !== undefined && current.input.op !== "get") {
      this.ctx.record({ clientId: this.id, input: current.input, callTime: current.callTime, returnTime: Infinity, output: undefined });
    }
    if (current.op.kind === "register") this.sessionId = 0;
    this.ctx.after(this.random.int(8), () => this.next());
  }
}
