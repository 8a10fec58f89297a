import type { KvEvent } from "../../kv/index.js";
import { TOO_LARGE_CODE, type Request, type Response } from "../../protocol/index.js";
import type { KvService } from "../kv-service.js";
import { REPLY_OVERHEAD_BYTES_MAX, errorReply, eventBytesMax } from "./replies.js";

/**
 * A service that answers a watch at once with no events (the KvService contract says it
 * waits for some) would make the stream spin: pause this long before asking again.
 */
const WATCH_IDLE_PAUSE_MS = 50;

export interface WatchSink {
  send(response: Response): void;
  /** Resolves once the connection's output is below its bound, so a slow reader slows the stream. */
  writable(): Promise<void>;
  /** A failure no error class explains. */
  internalError(error: unknown): void;
}

type WatchRequest = Extract<Request, { kind: "watch" }>;

/**
 * One WATCH: events under a prefix, streamed as WATCH_EVENTS frames on the watch's
 * request id until CANCEL (then WATCH_END), the connection closes, or an error ends it
 * (ERROR, e.g. COMPACTED). Each frame's nextRevision is where a client resumes after a
 * failover: every matching event below it has been sent, none at or above it.
 */
export class WatchStream {
  private readonly abort = new AbortController();
  private ended = false;

  constructor(
    private readonly service: KvService,
    private readonly request: WatchRequest,
    private readonly sink: WatchSink,
    private readonly frameBytesMax: number,
    private readonly onEnd: () => void,
  ) {}

  start(): void {
    void this.run();
  }

  /** CANCEL: answered WATCH_END at once; a service call still under way is abandoned. */
  cancel(): void {
    this.end({ kind: "watch-end", requestId: this.request.requestId });
  }

  /** The connection closed: stop without a reply. */
  close(): void {
    this.end(undefined);
  }

  private end(reply: Response | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.abort.abort();
    if (reply !== undefined) this.sink.send(reply);
    this.onEnd();
  }

  private async run(): Promise<void> {
    const { prefix, requestId } = this.request;
    let fromRevision = this.request.fromRevision;
    try {
      while (!this.ended) {
        await this.sink.writable();
        if (this.ended) return;
        const result = await this.service.watch(prefix, { fromRevision, signal: this.abort.signal });
        if (this.ended) return;
        if (!result.ok) {
          return this.end({ kind: "error", requestId, code: "COMPACTED", message: result.message, retryable: false, compactRevision: result.compactRevision });
        }
        if (result.events.length === 0) await this.pause();
        else if (!this.sendEvents(result.events, result.nextRevision)) return;
        fromRevision = Math.max(fromRevision, result.nextRevision);
      }
    } catch (error) {
      if (this.ended) return;
      const { reply, internal } = errorReply(requestId, error);
      if (internal) this.sink.internalError(error);
      this.end(reply);
    }
  }

  /**
   * Sends events in frames that fit. A frame is cut only between revisions (one tick may
   * expire many keys at one revision), so a client resuming from a frame's nextRevision
   * neither misses nor repeats an event. False when one revision cannot fit any frame
   * (the watch ends with TOO_LARGE).
   */
  private sendEvents(events: readonly KvEvent[], nextRevision: number): boolean {
    const budget = this.frameBytesMax - REPLY_OVERHEAD_BYTES_MAX;
    let batch: KvEvent[] = [];
    let used = 0;
    for (const group of byRevision(events)) {
      const need = group.reduce((sum, event) => sum + eventBytesMax(event), 0);
      const revision = (group[0] as KvEvent).revision;
      if (need > budget) {
        this.end({
          kind: "error", requestId: this.request.requestId, code: TOO_LARGE_CODE, retryable: false,
          message: `the events at revision ${revision} need ${need} bytes, more than one frame holds (${this.frameBytesMax}): raise frameBytesMax`,
        });
        return false;
      }
      if (used + need > budget) {
        this.sink.send({ kind: "watch-events", requestId: this.request.requestId, events: batch, nextRevision: revision });
        batch = [];
        used = 0;
      }
      batch.push(...group);
      used += need;
    }
    this.sink.send({ kind: "watch-events", requestId: this.request.requestId, events: batch, nextRevision });
    return true;
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, WATCH_IDLE_PAUSE_MS);
      const signal = this.abort.signal;
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done);
    });
  }
}

/** Events in runs of one revision each (the service returns them in revision order). */
function byRevision(events: readonly KvEvent[]): KvEvent[][] {
  const groups: KvEvent[][] = [];
  for (const event of events) {
    const last = groups[groups.length - 1];
    if (last !== undefined && (last[0] as KvEvent).revision === event.revision) last.push(event);
    else groups.push([event]);
  }
  return groups;
}
