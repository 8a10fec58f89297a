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
import { InvalidRequestError, NoSpaceError, NotLeaderError } from "../../src/server/errors.js";
import type { GetOutcome, KvService, LeaderHint, ReadOptions, WatchOptions, WriteOptions } from "../../src/server/kv-service.js";
import type { RequestScope } from "../../src/server/request-scope.js";

/** A stamp far from 0, like a real clock (absolute memcached exptimes, > 30 days in seconds, are realistic). */
export const T0_MS = 1_700_000_000_000;

/** The clock the fake service stamps writes and judges reads by; tests move it. */
export class ManualClock {
  constructor(public nowMs = T0_MS) {}

  advance(ms: number): void {
    this.nowMs += ms;
  }
}

export interface FakeKvServiceOptions {
  readonly clock?: ManualClock;
  readonly kvConfig?: Partial<KvConfig>;
  /** Writes that would take the data past this many bytes throw NoSpaceError, like the leader's quota check. */
  readonly quotaBytes?: number;
}

export type FakeCall = "get" | "list" | "write" | "register-session" | "watch";

/**
 * A KvService over one KvStateMachine, as a one-member cluster would be: each write is
 * stamped with the clock and applied as the next log index, so sessions (exactly-once)
 * behave as on a real leader, and reads are trivially linearizable. Tests hold calls in
 * flight (`gate`), delay them by event-loop turns, never wall-clock time
 * (`latencyTurns`), make the next call fail (`failNext`), play a follower
 * (`notLeader`), or act between applying a write and answering it (`afterApply`: e.g.
 * drop the connection so the reply is lost).
 */
export class FakeKvService implements KvService {
  readonly machine: KvStateMachine;
  readonly clock: ManualClock;
  /** While set, every call waits for it before it runs. */
  gate: Promise<void> | undefined;
  /** How many event-loop turns each call waits before it runs (after the gate); 0 by default. */
  latencyTurns: (call: FakeCall, keys: readonly Uint8Array[]) => number = () => 0;
  /** While set, every call throws NotLeaderError with this hint (undefined leader: none known). */
  notLeader: { leader: LeaderHint | undefined } | undefined;
  /** Calls received so far, by name, in order of arrival. */
  readonly calls: FakeCall[] = [];
  /** Every write command received, in order of arrival (retries included). */
  readonly writes: WriteCommand[] = [];
  /** Runs as each call arrives, before the gate and the latency, with the request scope the port passed. */
  onCall: (call: FakeCall, scope: RequestScope | undefined) => void = () => undefined;
  /** Runs after a write is applied and before its result is returned. */
  afterApply: (command: WriteCommand, result: KvResult) => void = () => undefined;
  private readonly quotaBytes: number;
  private readonly failures: Error[] = [];
  private appliedWaiters: (() => void)[] = [];

  constructor(options: FakeKvServiceOptions = {}) {
    this.clock = options.clock ?? new ManualClock();
    this.machine = new KvStateMachine(options.kvConfig);
    this.quotaBytes = options.quotaBytes ?? Number.POSITIVE_INFINITY;
  }

  /** The next call throws `error` instead of running. */
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

  async getMany(keys: readonly Uint8Array[], options?: ReadOptions): Promise<{ revision: number; kvs: (KeyValue | undefined)[] }> {
    await this.enter("get", keys, options?.scope);
    const kvs = keys.map((key) => {
      const got = this.machine.get(key, this.clock.nowMs);
      return got.ok ? got.kv : undefined;
    });
    return { revision: this.machine.appliedIndex, kvs };
  }

  async list(prefix: Uint8Array, options: { limit: number; after?: Uint8Array } & ReadOptions): Promise<ListResult> {
    await this.enter("list", [prefix], options.scope);
    const { limit, after } = options;
    const readStampMs = this.clock.nowMs;
    return this.machine.list(prefix, after === undefined ? { limit, readStampMs } : { limit, after, readStampMs });
  }

  async write(command: WriteCommand, options?: WriteOptions): Promise<KvResult> {
    this.writes.push(command);
    await this.enter("write", "key" in command ? [command.key] : [], options?.scope);
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
    const result = this.machine.apply(this.machine.appliedIndex + 1, data);
    this.wakeWatchers();
    this.afterApply(command, result);
    return result;
  }

  async registerSession(options?: WriteOptions): Promise<number> {
    await this.enter("register-session", [], options?.scope);
    const result = this.machine.apply(this.machine.appliedIndex + 1, encodeCommand({ stampMs: this.clock.nowMs, command: { type: "register-session" } }));
    if (!result.ok || result.kind !== "session-registered") throw new Error("the fake could not register a session");
    this.wakeWatchers();
    return result.sessionId;
  }

  /** Like ReplicaService: resolves when there are events, or on abort. */
  async watch(prefix: Uint8Array, options: WatchOptions): Promise<EventsResult> {
    await this.enter("watch", [prefix], undefined);
    for (;;) {
      const result = this.machine.eventsSince(options.fromRevision, prefix);
      if (!result.ok || result.events.length > 0 || options.signal.aborted) return result;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          options.signal.removeEventListener("abort", wake);
          resolve();
        };
        this.appliedWaiters.push(wake);
        options.signal.addEventListener("abort", wake);
      });
    }
  }

  private wakeWatchers(): void {
    const waiters = this.appliedWaiters;
    this.appliedWaiters = [];
    for (const wake of waiters) wake();
  }

  private async enter(call: FakeCall, keys: readonly Uint8Array[], scope: RequestScope | undefined): Promise<void> {
    this.calls.push(call);
    this.onCall(call, scope);
    if (this.gate !== undefined) await this.gate;
    for (let turn = this.latencyTurns(call, keys); turn > 0; turn--) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    if (this.notLeader !== undefined) throw new NotLeaderError(this.notLeader.leader);
  }
}

/** A gate: calls wait until `open()`. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
