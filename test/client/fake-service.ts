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
import { InvalidRequestError, NotLeaderError } from "../../src/server/errors.js";
import type { GetOutcome, KvService, LeaderHint, ReadOptions, WatchOptions } from "../../src/server/kv-service.js";

/** A stamp far from 0, like a real clock. */
const T0_MS = 1_700_000_000_000;

/**
 * A KvService over one KvStateMachine, as a one-member cluster would be: each write is
 * stamped and applied as the next log index, so sessions (exactly-once) behave as on a
 * real leader. Tests hold calls in flight (`gate`), make the next call fail
 * (`failNext`), play a follower (`notLeader`), or act between applying a write and
 * answering it (`afterApply`: e.g. drop the connection so the reply is lost).
 */
export class FakeKvService implements KvService {
  readonly machine: KvStateMachine;
  nowMsValue = T0_MS;
  /** While set, every call waits for it before it runs. */
  gate: Promise<void> | undefined;
  /** While set, every call throws NotLeaderError with this hint (undefined leader: none known). */
  notLeader: { leader: LeaderHint | undefined } | undefined;
  /** Calls received so far, by name, in order of arrival. */
  readonly calls: string[] = [];
  /** Every write command received, in order of arrival (retries included). */
  readonly writes: WriteCommand[] = [];
  /** Runs as each call arrives, before the gate. */
  onCall: (call: string) => void = () => undefined;
  /** Runs after a write is applied and before its result is returned. */
  afterApply: (command: WriteCommand, result: KvResult) => void = () => undefined;
  private readonly failures: Error[] = [];
  private appliedWaiters: (() => void)[] = [];

  constructor(kvConfig: Partial<KvConfig> = {}) {
    this.machine = new KvStateMachine(kvConfig);
  }

  /** The next call throws `error` instead of running. */
  failNext(error: Error): void {
    this.failures.push(error);
  }

  nowMs(): number {
    return this.nowMsValue;
  }

  async get(key: Uint8Array, options?: ReadOptions): Promise<GetOutcome> {
    const { revision, kvs } = await this.getMany([key], options);
    return { revision, kv: kvs[0] };
  }

  async getMany(keys: readonly Uint8Array[], _options?: ReadOptions): Promise<{ revision: number; kvs: (KeyValue | undefined)[] }> {
    await this.enter("get");
    const kvs = keys.map((key) => {
      const got = this.machine.get(key, this.nowMsValue);
      return got.ok ? got.kv : undefined;
    });
    return { revision: this.machine.appliedIndex, kvs };
  }

  async list(prefix: Uint8Array, options: { limit: number; after?: Uint8Array } & ReadOptions): Promise<ListResult> {
    await this.enter("list");
    const { limit, after } = options;
    return this.machine.list(prefix, after === undefined ? { limit, readStampMs: this.nowMsValue } : { limit, after, readStampMs: this.nowMsValue });
  }

  async write(command: WriteCommand): Promise<KvResult> {
    this.writes.push(command);
    await this.enter("write");
    let data: Uint8Array;
    try {
      data = encodeCommand({ stampMs: this.nowMsValue, command });
    } catch (error) {
      if (error instanceof InvalidCommandError) throw new InvalidRequestError(error.message);
      throw error;
    }
    const result = this.machine.apply(this.machine.appliedIndex + 1, data);
    this.wakeWatchers();
    this.afterApply(command, result);
    return result;
  }

  async registerSession(): Promise<number> {
    await this.enter("register-session");
    const result = this.machine.apply(this.machine.appliedIndex + 1, encodeCommand({ stampMs: this.nowMsValue, command: { type: "register-session" } }));
    if (!result.ok || result.kind !== "session-registered") throw new Error("the fake could not register a session");
    this.wakeWatchers();
    return result.sessionId;
  }

  /** Like ReplicaService: resolves when there are events, or on abort. */
  async watch(prefix: Uint8Array, options: WatchOptions): Promise<EventsResult> {
    await this.enter("watch");
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

  private async enter(call: string): Promise<void> {
    this.calls.push(call);
    this.onCall(call);
    if (this.gate !== undefined) await this.gate;
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
