import {
  InvalidCommandError,
  KvStateMachine,
  encodeCommand,
  type EventsResult,
  type KeyValue,
  type KvConfig,
  type KvResult,
  type ListResult,
  type WriteCommand,
} from "../../src/kv/index.js";
import { InvalidRequestError, NoSpaceError } from "../../src/server/errors.js";
import type { GetOutcome, KvService, ReadOptions, WatchOptions, WriteOptions } from "../../src/server/kv-service.js";

/** A stamp far from 0, so that absolute exptimes (> 30 days in seconds) are realistic. */
export const T0_MS = 1_700_000_000_000;

/** The clock the fake service stamps writes and judges reads by; tests move it. */
export class ManualClock {
  constructor(public nowMs = T0_MS) {}

  advance(ms: number): void {
    this.nowMs += ms;
  }
}

export interface FakeServiceOptions {
  readonly clock?: ManualClock;
  readonly kvConfig?: Partial<KvConfig>;
  /** Writes that would take the data past this many bytes throw NoSpaceError, like the leader's quota check. */
  readonly quotaBytes?: number;
}

/**
 * A KvService over one KvStateMachine, as a single-node cluster would be: each write
 * is encoded, stamped with the clock and applied as the next log index. Reads are
 * trivially linearizable. Tests can make calls fail (`failNext`) or answer late
 * (`latencyTurns`: event-loop turns, never wall-clock time; `gate`: until the test
 * opens it) to check error replies, reply ordering and backpressure.
 */
export class FakeKvService implements KvService {
  readonly clock: ManualClock;
  readonly machine: KvStateMachine;
  /** Every write command the service was asked to apply, in order of arrival. */
  readonly writes: WriteCommand[] = [];
  /** How many event-loop turns each call waits before it runs; 0 by default. */
  latencyTurns: (call: "read" | "write", keys: readonly Uint8Array[]) => number = () => 0;
  /** While set, every call waits for it before it runs: tests hold calls in flight. */
  gate: Promise<void> | undefined;
  /** Calls received so far (before latency and gate). */
  callsReceived = 0;
  /** Called with every write as it arrives. */
  onWrite: (command: WriteCommand) => void = () => undefined;
  private readonly failures: Error[] = [];
  private readonly quotaBytes: number;

  constructor(options: FakeServiceOptions = {}) {
    this.clock = options.clock ?? new ManualClock();
    this.machine = new KvStateMachine(options.kvConfig);
    this.quotaBytes = options.quotaBytes ?? Number.POSITIVE_INFINITY;
  }

  /** The next call (read or write) throws `error` instead of running. */
  failNext(error: Error): void {
    this.failures.push(error);
  }

  nowMs(): number {
    return this.clock.nowMs;
  }

  async get(key: Uint8Array, options?: ReadOptions): Promise<GetOutcome> {
    const { revision, kvs } = await this.getMany([key], options);
    return { revision, kv: kvs[0] };
  }

  async getMany(keys: readonly Uint8Array[], _options?: ReadOptions): Promise<{ revision: number; kvs: (KeyValue | undefined)[] }> {
    await this.enter("read", keys);
    const kvs = keys.map((key) => {
      const got = this.machine.get(key, this.clock.nowMs);
      return got.ok ? got.kv : undefined;
    });
    return { revision: this.machine.appliedIndex, kvs };
  }

  async list(prefix: Uint8Array, options: { limit: number; after?: Uint8Array } & ReadOptions): Promise<ListResult> {
    await this.enter("read", [prefix]);
    const { limit, after } = options;
    return this.machine.list(prefix, after === undefined ? { limit, readStampMs: this.clock.nowMs } : { limit, after, readStampMs: this.clock.nowMs });
  }

  async write(command: WriteCommand, _options?: WriteOptions): Promise<KvResult> {
    this.writes.push(command);
    this.onWrite(command);
    await this.enter("write", "key" in command ? [command.key] : []);
    if (this.machine.wouldExceedQuota(command, this.quotaBytes)) {
      throw new NoSpaceError(`the data size quota (${this.quotaBytes} bytes) is reached: delete keys to free space`);
    }
    let data: Uint8Array;
    try {
      data = encodeCommand({ stampMs: this.clock.nowMs, command });
    } catch (error) {
      if (error instanceof InvalidCommandError) throw new InvalidRequestError(error.message);
      throw error;
    }
    return this.machine.apply(this.machine.appliedIndex + 1, data);
  }

  async registerSession(): Promise<number> {
    const result = this.machine.apply(this.machine.appliedIndex + 1, encodeCommand({ stampMs: this.clock.nowMs, command: { type: "register-session" } }));
    if (!result.ok || result.kind !== "session-registered") throw new Error("the fake could not register a session");
    return result.sessionId;
  }

  async watch(prefix: Uint8Array, options: WatchOptions): Promise<EventsResult> {
    await this.enter("read", [prefix]);
    return this.machine.eventsSince(options.fromRevision, prefix);
  }

  private async enter(call: "read" | "write", keys: readonly Uint8Array[]): Promise<void> {
    this.callsReceived++;
    if (this.gate !== undefined) await this.gate;
    for (let turn = this.latencyTurns(call, keys); turn > 0; turn--) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
  }
}
