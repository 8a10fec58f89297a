import { runCall, unexpected, type CallContext } from "../../client/call.js";
import { LeaderFinder, type ConnectionOpener } from "../../client/discovery.js";
import type { ClientEvent, ClientEventListener } from "../../client/events.js";
import { LeaderRouter } from "../../client/router.js";
import type { ClientRuntime } from "../../client/runtime.js";
import { SessionWriter } from "../../client/writes.js";
import type { KvResult, WriteCommand } from "../../kv/index.js";
import type { KvInput, KvOutput, Operation } from "../../lincheck/history.js";
import type { Consistency } from "../../protocol/index.js";
import type { SeededRandom } from "../../raft/random.js";
import { NO_TRACE } from "../../trace/index.js";
import { expiringPutCommand, readOutput, resultOutcome, writeCommand } from "./kv-adapter.js";
import type { SimClientConnection } from "./sim-client-connection.js";
import type { SimStats } from "./types.js";

export interface ClientContext {
  now(): number;
  after(delayMs: number, action: () => void): void;
  /** `action` after `delayMs` unless cancelled first (the answer cancels it). */
  timer(delayMs: number, action: () => void): () => void;
  /** Opens connections for client `clientId` over the simulated network (client-network.ts). */
  opener(clientId: number, forward: boolean, runtime: ClientRuntime): ConnectionOpener<SimClientConnection>;
  /** Every member's client address: the endpoints a client is configured with. */
  endpoints(): readonly string[];
  record(op: Operation): void;
  countOp(): void;
  /** The library's status events, counted in the run's stats. */
  readonly onEvent: ClientEventListener;
}

const encoder = new TextEncoder();

/** The share of operations on expiring keys, outside the linearizability check. */
const EXPIRING_SHARE = 0.1;
/** How long a client waits for one attempt (or one HELLO) before trying again elsewhere. */
const REQUEST_TIMEOUT_MS = 150;
/** How long a client keeps retrying one operation before giving up on it. */
const OPERATION_DEADLINE_MS = 1500;
/** One operation at a time per client: its session never has more than one write open. */
const WRITES_IN_FLIGHT_MAX = 4;

interface UnderWay {
  readonly input: KvInput;
  readonly callTime: number;
}

/**
 * A simulated client running the client library's own call path: LeaderFinder and
 * LeaderRouter find the leader (HELLO, redirects, a hint), runCall retries each attempt
 * through timeouts, lost connections, BUSY and failovers with jittered backoff, and
 * SessionWriter keeps writes exactly-once (a session registered lazily, one seq per
 * write kept across retries, a new session when the cluster forgot it). Only the time,
 * the timers, the chance and the connections are the simulator's (sim-client-connection.ts).
 *
 * One operation at a time: a seeded mix of get, put, cas and delete over a few keys,
 * each value unique so that a read names the write it saw, recorded with its
 * invocation and completion for the linearizability check; a write whose outcome the
 * library could not learn is recorded as unknown. Half the clients ask members to
 * forward (a follower then serves their reads with a ReadIndex round); the others are
 * redirected to the leader.
 */
export class SimClient {
  private readonly context: CallContext;
  private readonly writer: SessionWriter;
  private readonly consistency: Consistency;
  private readonly versions = new Map<string, number>();
  private opCount = 0;
  private requestCount = 0;
  private current: UnderWay | undefined;
  stopped = false;
  /** While paused, the client starts no new operation (the one under way finishes). */
  private paused = false;
  private idle = false;

  constructor(readonly id: number, private readonly ctx: ClientContext, private readonly random: SeededRandom, private readonly keys: readonly string[]) {
    const forward = random.next() < 0.5;
    this.consistency = forward ? "follower" : "linearizable";
    const runtime: ClientRuntime = {
      now: () => ctx.now(),
      after: (delayMs, action) => ctx.timer(delayMs, action),
      random: () => random.next(),
      newRequestId: () => `c${id}.r${++this.requestCount}`,
    };
    const endpoints = shuffled(ctx.endpoints(), random);
    const finder = new LeaderFinder({ endpoints, coordinator: undefined, connectTimeoutMs: REQUEST_TIMEOUT_MS, forward, tls: undefined, token: undefined }, ctx.opener(id, forward, runtime), runtime);
    this.context = { router: new LeaderRouter(finder, ctx.onEvent), runtime, requestTimeoutMs: REQUEST_TIMEOUT_MS, emit: ctx.onEvent, tracer: NO_TRACE };
    this.writer = new SessionWriter(this.context, WRITES_IN_FLIGHT_MAX);
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
    const opNo = ++this.opCount;
    const requestId = `c${this.id}.${opNo}`;
    this.ctx.countOp();
    if (this.random.next() < EXPIRING_SHARE) {
      // Expiring keys live beside the checked ones: every replica must expire them at
      // the same log position (the state digests and apply results are compared).
      const key = `ttl:${this.random.int(3)}`;
      const done = this.random.next() < 0.5
        ? this.read(key, requestId)
        : this.write(expiringPutCommand(key, `c${this.id}s${opNo}`, 5 + this.random.int(200)), requestId);
      done.then(() => this.later(), () => this.later());
      return;
    }
    const input = this.pickInput(opNo);
    const underWay: UnderWay = { input, callTime: this.ctx.now() };
    this.current = underWay;
    const output = input.op === "get" ? this.read(input.key, requestId) : this.write(writeCommand(input), requestId).then(resultOutput);
    output.then((result) => this.complete(underWay, result), () => this.complete(underWay, "unknown"));
  }

  private read(key: string, requestId: string): Promise<KvOutput> {
    const keyBytes = encoder.encode(key);
    const consistency = this.consistency;
    return runCall(this.context, { operation: "get", request: { requestId } }, OPERATION_DEADLINE_MS, (connection, timeoutMs, context) =>
      connection.request((frameId) => ({ kind: "get", requestId: frameId, key: keyBytes, consistency }), timeoutMs, context),
    (response) => {
      if (response.kind !== "get-ok") throw unexpected("get", response);
      return readOutput(response.kv);
    });
  }

  private write(command: WriteCommand, requestId: string): Promise<KvResult> {
    return this.writer.write(command.type, command, OPERATION_DEADLINE_MS, { requestId });
  }

  private pickInput(opNo: number): KvInput {
    const key = this.random.pick(this.keys);
    const roll = this.random.next();
    const value = `c${this.id}s${opNo}`;
    if (roll < 0.4) return { op: "get", key };
    if (roll < 0.7) return { op: "put", key, value };
    if (roll < 0.85) {
      const known = this.versions.get(key) ?? 0;
      const expectVersion = this.random.next() < 0.8 ? known : this.random.int(3);
      return { op: "cas", key, expectVersion, value };
    }
    return { op: "delete", key };
  }

  /**
   * The operation ended: with an output, refused (surely not applied: left out of the
   * history), or unknown (a write that may have been applied; a read had no effect).
   */
  private complete(underWay: UnderWay, result: KvOutput | "refused" | "unknown"): void {
    if (this.current !== underWay) return; // given up on already (the run ended)
    this.current = undefined;
    const { input } = underWay;
    if (result === "unknown") {
      this.recordUnknown(underWay);
    } else if (result !== "refused") {
      // The state machine answers a compare-and-set as the put it is.
      const output: KvOutput = input.op === "cas" && result.op === "put" ? { op: "cas", ok: true, version: result.version } : result;
      if ("version" in output && output.version !== undefined) this.versions.set(input.key, output.version);
      this.ctx.record({ clientId: this.id, input, callTime: underWay.callTime, returnTime: this.ctx.now(), output });
    }
    this.later();
  }

  private later(): void {
    this.ctx.after(this.random.int(8), () => this.next());
  }

  /** The run ends: a write under way is of unknown outcome; a read had none. */
  giveUp(): void {
    const underWay = this.current;
    if (underWay === undefined) return;
    this.current = undefined;
    this.recordUnknown(underWay);
  }

  /** A write whose outcome is unknown may take effect at any time after its call; a read had no effect. */
  private recordUnknown(underWay: UnderWay): void {
    if (underWay.input.op !== "get") this.ctx.record({ clientId: this.id, input: underWay.input, callTime: underWay.callTime, returnTime: Infinity, output: undefined });
  }
}

/** What a write's result tells the history: its output, or that it surely was not applied. */
function resultOutput(result: KvResult): KvOutput | "refused" {
  const outcome = resultOutcome(result);
  return outcome.output ?? "refused";
}

/** `items` in a seeded order, so that clients do not all try the same member first. */
function shuffled<T>(items: readonly T[], random: SeededRandom): T[] {
  const order = [...items];
  for (let i = order.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [order[i], order[j]] = [order[j] as T, order[i] as T];
  }
  return order;
}

/** The client library's events, as counts of what it did. */
export function countClientEvent(stats: SimStats, event: ClientEvent): void {
  switch (event.type) {
    case "connected":
      stats.clientConnections++;
      break;
    case "redirected":
      stats.clientRedirects++;
      break;
    case "retrying":
      stats.clientRetries++;
      break;
    case "session-registered":
      stats.sessionsRegistered++;
      break;
    case "session-expired":
      stats.sessionsExpired++;
      break;
    default:
      break;
  }
}
