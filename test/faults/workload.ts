import { performance } from "node:perf_hooks";
import { createClient, KeyNotFoundError, VersionMismatchError, InvalidArgumentError, NoSpaceError, type KvClient } from "../../src/index.js";
import type { KvInput, KvOutput, Operation } from "../../src/lincheck/index.js";
import { SeededRandom } from "../../src/raft/random.js";
import type { ClientTlsOptions } from "../../src/security/client-credentials.js";
import { shuffle } from "./seeded.js";

export interface WorkloadOptions {
  readonly seed: number;
  readonly clients: number;
  readonly keys: number;
  /** Members' client addresses (host:port). */
  readonly endpoints: readonly string[];
  /** Keys are PREFIX0..PREFIX(keys-1) (default "k"): runs on one cluster keep apart by prefix. */
  readonly keyPrefix?: string;
  /** Without one, every client asks members to forward (clients behind a Kubernetes Service). */
  readonly coordinatorUrl?: string;
  /** The clients' bearer token: servers with a token file authenticate every request. */
  readonly token?: string;
  /** TLS for the clients (the cluster's CA), or undefined for plain TCP. */
  readonly tls?: ClientTlsOptions;
}

/**
 * One call's deadline, retries included, drawn per call from this range: past it the
 * outcome is unknown. Short ones time out during elections, so histories hold unknowns.
 */
const CALL_DEADLINE_MS = [600, 3000] as const;
const ATTEMPT_TIMEOUT_MS = 800;
/** The history's bound: past it the clients stop calling (the checkers' time grows with it). */
const HISTORY_OPERATIONS_MAX = 200_000;
/** Pause between one client's calls: keeps histories checkable in seconds. */
const THINK_MS_MAX = 8;

export interface WorkloadFigures {
  /** Reads that failed (left out of the history: a read changes nothing). */
  readonly failedReads: number;
  /** Writes that failed for sure (never applied; left out). */
  readonly failedWrites: number;
}

/** The harness's clock: microseconds on a monotonic clock, as integers (porcupine wants int64). */
export function nowMicros(): number {
  return Math.round(performance.now() * 1000);
}

/**
 * Concurrent clients, each a KvClient of its own (its own session), doing a seeded random
 * mix of get, put, cas and delete over a few keys so that operations collide. Half the
 * clients ask members to forward (they stay on whichever member they reached, a follower
 * included); the others find the leader through the coordinator and follow redirects.
 * Every call is recorded.
 */
export class Workload {
  readonly history: Operation[] = [];
  private failedReads = 0;
  private failedWrites = 0;
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  private readonly kvClients: KvClient[] = [];

  constructor(private readonly options: WorkloadOptions) {}

  start(): void {
    for (let id = 0; id < this.options.clients; id++) {
      const random = new SeededRandom(this.options.seed * 1000 + id);
      const endpoints = shuffle([...this.options.endpoints], random);
      // Forwarding clients get no coordinator: it would send them to the leader, and they
      // are there to stay on whichever member they reached first, a follower included.
      const coordinator = this.options.coordinatorUrl;
      const forward = coordinator === undefined || id % 2 === 1;
      const client = createClient({
        endpoints, forward, clientName: `faults-${id}`, ...(this.options.token === undefined ? {} : { token: this.options.token }),
        ...(this.options.tls === undefined ? {} : { tls: this.options.tls }), ...(forward || coordinator === undefined ? {} : { coordinator }),
        deadlineMs: CALL_DEADLINE_MS[1], requestTimeoutMs: ATTEMPT_TIMEOUT_MS, connectTimeoutMs: ATTEMPT_TIMEOUT_MS,
      });
      this.kvClients.push(client);
      this.loops.push(this.clientLoop(id, client, random));
    }
  }

  /** Stops issuing calls, waits for those in flight to settle, closes the clients. */
  async stop(): Promise<WorkloadFigures> {
    this.stopping = true;
    await Promise.all(this.loops);
    await Promise.all(this.kvClients.map((c) => c.close()));
    return { failedReads: this.failedReads, failedWrites: this.failedWrites };
  }

  private async clientLoop(clientId: number, client: KvClient, random: SeededRandom): Promise<void> {
    // The versions this client saw last, per key: its cas calls expect them (or a wrong one).
    const seen = new Map<string, number>();
    let sequence = 0;
    while (!this.stopping && this.history.length < HISTORY_OPERATIONS_MAX) {
      const input = this.nextInput(clientId, random, seen, sequence++);
      const callTime = nowMicros();
      const deadlineMs = CALL_DEADLINE_MS[0] + random.int(CALL_DEADLINE_MS[1] - CALL_DEADLINE_MS[0] + 1);
      const outcome = await this.execute(client, input, deadlineMs);
      const returnTime = nowMicros();
      if (outcome === "failed") {
        if (input.op === "get") this.failedReads++;
        else this.failedWrites++;
      } else if (outcome === "unknown") {
        this.history.push({ clientId, input, callTime, returnTime: Number.POSITIVE_INFINITY, output: undefined });
      } else {
        this.history.push({ clientId, input, callTime, returnTime, output: outcome });
        const version = "version" in outcome ? outcome.version : outcome.op === "delete" || outcome.op === "get" ? 0 : undefined;
        if (version !== undefined) seen.set(input.key, version);
      }
      await new Promise((resolve) => setTimeout(resolve, random.int(THINK_MS_MAX + 1)));
    }
  }

  private nextInput(clientId: number, random: SeededRandom, seen: Map<string, number>, sequence: number): KvInput {
    const key = `${this.options.keyPrefix ?? "k"}${random.int(this.options.keys)}`;
    const value = `c${clientId}-${sequence}`;
    const roll = random.int(100);
    if (roll < 40) return { op: "get", key };
    if (roll < 65) return { op: "put", key, value };
    if (roll < 85) {
      // Mostly the version last seen (often still current), sometimes a stale or absent one.
      const last = seen.get(key) ?? 0;
      const expectVersion = random.int(4) === 0 ? Math.max(0, last - 1 - random.int(3)) : last;
      return { op: "cas", key, expectVersion, value };
    }
    return { op: "delete", key };
  }

  /** The call's output, "failed" when it surely was not applied, "unknown" when it may have been. */
  private async execute(client: KvClient, input: KvInput, deadlineMs: number): Promise<KvOutput | "failed" | "unknown"> {
    try {
      switch (input.op) {
        case "get": {
          const entry = await client.get(input.key, { deadlineMs });
          return entry === undefined ? { op: "get", found: false } : { op: "get", found: true, value: entry.text(), version: entry.version };
        }
        case "put":
          return { op: "put", version: (await client.put(input.key, input.value, { deadlineMs })).version };
        case "cas":
          try {
            return { op: "cas", ok: true, version: (await client.cas(input.key, input.expectVersion, input.value, { deadlineMs })).version };
          } catch (error) {
            if (error instanceof VersionMismatchError) return { op: "cas", ok: false };
            throw error;
          }
        case "delete":
          try {
            await client.delete(input.key, { deadlineMs });
            return { op: "delete", deleted: true };
          } catch (error) {
            if (error instanceof KeyNotFoundError) return { op: "delete", deleted: false };
            throw error;
          }
      }
    } catch (error) {
      // Refused before anything was proposed; everything else (timeouts, lost connections,
      // an expired session) may have been applied.
      if (error instanceof InvalidArgumentError || error instanceof NoSpaceError) return "failed";
      // A read whose answer never came changed nothing: it counts as failed and is left out.
      return input.op === "get" ? "failed" : "unknown";
    }
  }
}
