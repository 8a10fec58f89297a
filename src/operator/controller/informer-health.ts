import { invariant } from "../../assert/invariant.js";
/** When an informer's state makes the operator unhealthy (its /healthz answers 503). */
export interface InformerHealthBounds {
  /** An informer that has not listed and started watching this long after it started. */
  readonly syncMsMax: number;
  /** An informer whose list or watch has been failing, without a success in between, this long. */
  readonly failingMsMax: number;
}

/**
 * A restarted informer waits 500 ms doubling to 30 s between attempts, and a list that gets
 * no answer gives up after 30 s. So after an API server outage of D seconds the next
 * attempt lands within about min(2D, D + 30) s (plus up to 30 s if the server hangs rather
 * than refuses): 60 s of failing tolerates a restart of the API server lasting up to ~30 s,
 * and the kubelet's liveness probe (3 failures 10 s apart in the chart) adds its own margin.
 * The first sync may also list every owned object in every namespace, and may take two
 * attempts that time out: 90 s. Past these, a restart of the process is the remedy
 * (fresh connections, fresh credentials), which is what the 503 asks the kubelet for.
 */
export const DEFAULT_INFORMER_HEALTH_BOUNDS: InformerHealthBounds = { syncMsMax: 90_000, failingMsMax: 60_000 };

/** The last error is cut to this many characters in the reason: /healthz answers a short line. */
const REASON_ERROR_CHARS_MAX = 160;

interface InformerState {
  readonly startedAtMs: number;
  synced: boolean;
  /** Consecutive failed attempts, for the restart backoff; 0 once an attempt succeeds. */
  failures: number;
  failingSinceMs: number | undefined;
  lastError: string | undefined;
}

/**
 * What each informer last reported: started, connected (listed and watching) or failed.
 * Pure (the caller passes the time): the restart backoff reads the failure count, and
 * /healthz asks `problem` whether any informer is past a bound. Like client-go's
 * HasSynced, "synced" is sticky: a later failure is judged by how long it lasts.
 */
export class InformerHealth {
  private readonly states = new Map<string, InformerState>();

  constructor(private readonly bounds: InformerHealthBounds = DEFAULT_INFORMER_HEALTH_BOUNDS) {
    if (!(bounds.syncMsMax > 0 && bounds.failingMsMax > 0)) {
      throw new RangeError(`informer health bounds must be positive: syncMsMax ${bounds.syncMsMax}, failingMsMax ${bounds.failingMsMax}`);
    }
  }

  /** The informer of `kind` starts (once; a restart after a failure is not a new start). */
  started(kind: string, nowMs: number): void {
    if (this.states.has(kind)) return;
    this.states.set(kind, { startedAtMs: nowMs, synced: false, failures: 0, failingSinceMs: undefined, lastError: undefined });
  }

  /** An attempt listed (if it had to) and opened its watch. */
  connected(kind: string): void {
    const state = this.stateOf(kind);
    state.synced = true;
    state.failures = 0;
    state.failingSinceMs = undefined;
    state.lastError = undefined;
  }

  /** A list or watch failed; returns how many attempts in a row have failed. */
  failed(kind: string, nowMs: number, error: unknown): number {
    const state = this.stateOf(kind);
    state.failures++;
    state.failingSinceMs ??= nowMs;
    state.lastError = errorText(error);
    return state.failures;
  }

  /** Consecutive failed attempts of the informer of `kind` (0 after a success). */
  failuresOf(kind: string): number {
    return this.stateOf(kind).failures;
  }

  /** Why the operator is unhealthy (the first informer past a bound), or undefined when it is not. */
  problem(nowMs: number): string | undefined {
    for (const [kind, state] of this.states) {
      const lastError = state.lastError === undefined ? "" : ` (last error: ${state.lastError})`;
      if (!state.synced && nowMs - state.startedAtMs > this.bounds.syncMsMax) {
        return `the ${kind} informer has not synced ${seconds(nowMs - state.startedAtMs)} after it started${lastError}`;
      }
      if (state.failingSinceMs !== undefined && nowMs - state.failingSinceMs > this.bounds.failingMsMax) {
        return `the ${kind} informer has been failing to list or watch for ${seconds(nowMs - state.failingSinceMs)}${lastError}`;
      }
    }
    return undefined;
  }

  private stateOf(kind: string): InformerState {
    const state = this.states.get(kind);
    invariant(state !== undefined, () => `informer health: ${kind} reported before it started (call started() first)`);
    return state;
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** client-node's watch reports a refused watch as an Error whose message is only the status text ("Forbidden"). */
function errorText(error: unknown): string {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  const message = (error instanceof Error ? error.message : String(error)).split("\n", 1)[0] ?? "";
  const text = typeof status === "number" ? `HTTP ${status} ${message}` : message;
  return text.length > REASON_ERROR_CHARS_MAX ? `${text.slice(0, REASON_ERROR_CHARS_MAX)}...` : text;
}
