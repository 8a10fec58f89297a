import type { IncomingMessage, ServerResponse } from "node:http";
import type { ClusterView } from "./cluster-view.js";
import type { CoordinatorConfig } from "./config.js";
import type { HistoryEntry } from "./view-history.js";

export type ViewStreamLimits = Pick<CoordinatorConfig, "streamSubscribersMax" | "streamBufferBytesMax" | "streamKeepAliveMs">;

/** The first message on a stream: everything the page shows. */
export interface StreamSnapshot {
  readonly atMs: number;
  readonly clusters: readonly ClusterView[];
  readonly history: readonly HistoryEntry[];
}

/** Later messages: the whole view again (it is small), or changes to append to the history. */
export interface StreamView {
  readonly atMs: number;
  readonly clusters: readonly ClusterView[];
}

/** How long a browser waits before reconnecting a dropped stream (EventSource's `retry:`). */
const RECONNECT_DELAY_MS = 2000;

/**
 * The coordinator's server-sent events (GET /v1/events): `snapshot` first, then `view`
 * whenever the view changes and `change` for each new history entry. Each reader is one
 * open response; there are at most streamSubscribersMax of them, a reader that stops
 * reading is dropped at the next message once more than streamBufferBytesMax is queued
 * for it (its EventSource
 * reconnects and starts from a fresh snapshot, so nothing is lost but time), and an idle
 * stream gets a comment every streamKeepAliveMs so that proxies keep it open.
 */
export class ViewStream {
  private readonly subscribers = new Set<ServerResponse>();
  private keepAlive: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly limits: ViewStreamLimits, private readonly snapshot: () => StreamSnapshot) {}

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Answers a GET /v1/events: the stream, or 503 when the limit is reached. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    if (this.closed || this.subscribers.size >= this.limits.streamSubscribersMax) {
      res.writeHead(503, { "Content-Type": "application/json", "Retry-After": "5" });
      res.end(JSON.stringify({ error: { code: "LIMIT_REACHED", limit: "streamSubscribersMax", message: `the coordinator already serves ${this.subscribers.size} status streams (streamSubscribersMax ${this.limits.streamSubscribersMax}): close another page or watch, or ask GET /v1/cluster` } }));
      return;
    }
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      // Proxies such as nginx buffer responses unless told not to: a buffered stream is not live.
      "X-Accel-Buffering": "no",
    });
    this.subscribers.add(res);
    const forget = (): void => this.drop(res);
    req.once("close", forget);
    res.once("close", forget);
    res.write(`retry: ${RECONNECT_DELAY_MS}\n\n`);
    this.write(res, frame("snapshot", this.snapshot()));
    this.keepAlive ??= setInterval(() => this.broadcast(": keep-alive\n\n"), this.limits.streamKeepAliveMs).unref();
  }

  publishView(view: StreamView): void {
    this.broadcast(frame("view", view));
  }

  publishChanges(entries: readonly HistoryEntry[]): void {
    for (const entry of entries) this.broadcast(frame("change", entry));
  }

  /** Ends every stream (the coordinator is stopping); later readers get 503. */
  close(): void {
    this.closed = true;
    for (const res of [...this.subscribers]) {
      this.drop(res);
      res.end();
    }
  }

  private broadcast(text: string): void {
    for (const res of [...this.subscribers]) this.write(res, text);
  }

  private write(res: ServerResponse, text: string): void {
    // A reader that does not read would make the coordinator hold every view for it. The
    // check is on what is still queued from before, so one message always goes out
    // whatever its size (a snapshot of a big cluster may pass the limit by itself), and
    // a reader holds at most the limit plus one message.
    if (res.writableLength > this.limits.streamBufferBytesMax) {
      this.drop(res);
      res.destroy();
      return;
    }
    res.write(text);
  }

  private drop(res: ServerResponse): void {
    this.subscribers.delete(res);
    if (this.subscribers.size === 0 && this.keepAlive !== undefined) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }
}

/** One event: JSON.stringify writes no raw newline, so the data is one `data:` line. */
function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
