import type { KvEvent } from "../kv/index.js";
import type { Response } from "../protocol/index.js";
import { errorFromReply } from "./call.js";
import type { ClientConnection, StreamListener } from "./connection.js";
import { KvClientError, NotLeaderError, TimeoutError } from "./errors.js";
import type { ClientEventListener } from "./events.js";
import type { LeaderRouter } from "./router.js";
import { watchEventOf, type WatchEvent } from "./values.js";

/**
 * Frames received and not yet handed to the consumer, per watch. Past this the stream is
 * cancelled and reopened from where the consumer got to once it catches up, so a slow
 * consumer costs a reconnect, never unbounded memory.
 */
const WATCH_INBOX_FRAMES_MAX = 256;
/** Pause before reopening a stream that failed, so a flapping member is not hammered. */
const WATCH_RETRY_PAUSE_MS = 100;
/** A stream that worked this long before failing counts as healthy: the failure deadline restarts. */
const WATCH_STREAM_HEALTHY_MS = 1_000;

export interface WatchOptions {
  /** First revision to report (inclusive). Default: the revision current when watch() is called, + 1. */
  readonly fromRevision?: number;
  readonly signal?: AbortSignal;
}

export interface WatchSubscription extends AsyncIterable<WatchEvent> {
  /** The first revision this watch reports, once known. */
  readonly ready: Promise<number>;
  /** Ends the watch; a pending `next()` completes as done. */
  close(): void;
}

export interface WatchContext {
  readonly router: LeaderRouter;
  readonly emit: ClientEventListener;
  /** How long the watch may go without a stream before it fails with TimeoutError. */
  readonly deadlineMs: number;
  /** The revision to start from when none is given (a linearizable read's revision + 1). */
  startRevision(prefix: Uint8Array): Promise<number>;
  /** Called once when the watch ends, however it ends. */
  onEnd(): void;
}

type InboxItem =
  | { readonly type: "frame"; readonly frame: Response; readonly connection: ClientConnection; readonly generation: number }
  | { readonly type: "lost"; readonly error: Error; readonly generation: number };

/**
 * watch(prefix): events in revision order, across failovers. The watch remembers the
 * nextRevision of the last frame it handed on; after a broken connection, a redirect or
 * a retryable error it reopens the stream on the current leader from exactly there, and
 * drops any event below it. So no event is missed (the server sends every matching
 * event below a frame's nextRevision) and none is repeated.
 */
export function openWatch(context: WatchContext, prefix: Uint8Array, options: WatchOptions = {}): WatchSubscription {
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted === true) stop.abort();
  const ready = options.fromRevision !== undefined ? Promise.resolve(options.fromRevision) : context.startRevision(prefix);
  // The iterator reports a failure to start; this keeps it from also being an unhandled rejection.
  ready.catch(() => undefined);
  const events = run(context, prefix, ready, stop.signal);
  return {
    ready,
    close: () => {
      stop.abort();
      context.onEnd();
    },
    [Symbol.asyncIterator]: () => events,
  };
}

async function* run(context: WatchContext, prefix: Uint8Array, ready: Promise<number>, signal: AbortSignal): AsyncGenerator<WatchEvent> {
  let from = await ready;
  const inbox = new Inbox();
  let stream: { connection: ClientConnection; requestId: number; openedAtMs: number } | undefined;
  /** Since when the watch has had no working stream; undefined while it works. */
  let failingSinceMs: number | undefined;
  let lastError: unknown;
  const tried = new Set<string>();
  try {
    while (!signal.aborted) {
      // Frames already received are handed on first, even from a stream that has ended.
      if (stream === undefined && inbox.size === 0) {
        const startedMs = failingSinceMs ?? Date.now();
        if (Date.now() - startedMs > context.deadlineMs) throw new TimeoutError("watch", context.deadlineMs, [...tried], lastError);
        try {
          const connection = await context.router.connection(startedMs + context.deadlineMs, tried);
          const fromRevision = from;
          const requestId = connection.openStream((id) => ({ kind: "watch", requestId: id, prefix, fromRevision }), inbox.listener(connection));
          stream = { connection, requestId, openedAtMs: Date.now() };
        } catch (error) {
          if (!(error instanceof KvClientError && error.retryable)) throw error;
          failingSinceMs ??= Date.now();
          lastError = error;
          await pause(WATCH_RETRY_PAUSE_MS, signal);
          continue;
        }
      }
      if (stream !== undefined && inbox.size > WATCH_INBOX_FRAMES_MAX) {
        // Too far behind: stop the flow; once the inbox is drained it reopens from `from`.
        stream.connection.closeStream(stream.requestId);
        stream = undefined;
      }
      const item = await inbox.take(signal);
      if (item === undefined) return;
      const outcome = item.type === "lost" ? { retry: item.error } : consider(context, item.connection, item.frame);
      if ("events" in outcome) {
        failingSinceMs = undefined;
        for (const event of outcome.events) if (event.revision >= from) yield watchEventOf(event);
        from = Math.max(from, outcome.nextRevision);
        continue;
      }
      lastError = outcome.retry;
      if (stream !== undefined && item.generation === inbox.generation) {
        // A stream that worked for a while failed: the deadline counts from now, not from an older failure.
        if (Date.now() - stream.openedAtMs >= WATCH_STREAM_HEALTHY_MS) failingSinceMs = undefined;
        stream.connection.closeStream(stream.requestId);
        stream = undefined;
        inbox.clear();
      }
      failingSinceMs ??= Date.now();
      context.emit({ type: "watch-resumed", fromRevision: from, reason: outcome.retry.message });
      await pause(WATCH_RETRY_PAUSE_MS, signal);
    }
  } finally {
    if (stream !== undefined) stream.connection.closeStream(stream.requestId);
    context.onEnd();
  }
}

type Outcome = { readonly events: readonly KvEvent[]; readonly nextRevision: number } | { readonly retry: Error };

/** What a frame means for the watch: events to hand on, a reason to reopen, or a failure (thrown). */
function consider(context: WatchContext, connection: ClientConnection, frame: Response): Outcome {
  switch (frame.kind) {
    case "watch-events":
      return { events: frame.events, nextRevision: frame.nextRevision };
    case "redirect":
      context.router.redirect(connection, frame.leader);
      return { retry: new NotLeaderError(frame.leader.leaderId, frame.leader.clientAddress) };
    case "busy":
      return { retry: new Error(`BUSY: ${frame.message}`) };
    case "watch-end":
      return { retry: new Error(`${connection.address} ended the watch`) };
    case "error": {
      const error = errorFromReply(frame);
      if (!error.retryable) throw error;
      if (error instanceof NotLeaderError) context.router.invalidate(connection, error.message);
      return { retry: error };
    }
    default:
      return { retry: new Error(`a watch was answered with ${frame.kind}`) };
  }
}

/** Frames of the current stream, in order; a stream replaced by a newer one delivers nothing more. */
class Inbox {
  private items: InboxItem[] = [];
  private waiter: ((item: InboxItem | undefined) => void) | undefined;
  generation = 0;

  get size(): number {
    return this.items.length;
  }

  listener(connection: ClientConnection): StreamListener {
    const generation = ++this.generation;
    const push = (item: InboxItem): void => {
      if (generation !== this.generation) return;
      const waiter = this.waiter;
      this.waiter = undefined;
      if (waiter !== undefined) waiter(item);
      else this.items.push(item);
    };
    return {
      frame: (frame) => push({ type: "frame", frame, connection, generation }),
      closed: (error) => push({ type: "lost", error, generation }),
    };
  }

  /** Forgets everything received: the stream is being replaced. */
  clear(): void {
    this.items = [];
    this.generation++;
  }

  take(signal: AbortSignal): Promise<InboxItem | undefined> {
    const item = this.items.shift();
    if (item !== undefined || signal.aborted) return Promise.resolve(item);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.waiter = undefined;
        resolve(undefined);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiter = (next) => {
        signal.removeEventListener("abort", onAbort);
        resolve(next);
      };
    });
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
