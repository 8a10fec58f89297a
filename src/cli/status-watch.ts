import type { IncomingMessage } from "node:http";
import { SseParser } from "../coord/sse-parser.js";
import { httpTarget, openHttp } from "../security/https-call.js";
import type { CoordinatorAccess } from "./cluster-access.js";
import { describeNetworkError } from "./cluster-access.js";
import { FrameWriter } from "./frame-writer.js";
import { applyStreamEvent, followedKey, followedLines, type FollowedView, NOTHING_YET } from "./status-watch-view.js";

/** An event-stream line longer than this is not the coordinator's (a full view is ~30 KiB). */
const STREAM_LINE_CHARS_MAX = 4 * 1024 * 1024;
/** The coordinator sends a keep-alive every 15 s: silence for this long is a dead stream. */
const STREAM_IDLE_MS = 45_000;
/** Pause before opening the stream again after it dropped or was refused. */
const RECONNECT_DELAY_MS = 2000;

/** Stops the watch: Ctrl-C (SIGINT) or SIGTERM, or a test. */
export class WatchStop {
  private stop: (() => void) | undefined;
  readonly stopped = new Promise<void>((resolve) => { this.stop = resolve; });
  isStopped = false;

  request(): void {
    this.isStopped = true;
    this.stop?.();
  }

  /** Waits `ms`, or less when the watch is stopped meanwhile. */
  pause(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); }), this.stopped]).finally(() => clearTimeout(timer));
  }

  /**
   * Ends the watch on SIGINT or SIGTERM, and forgets the handlers when it ends. The
   * handlers stay until then (not `once`): a second Ctrl-C while the watch winds down
   * must not kill the process with the signal (exit 130 instead of 0).
   */
  onSignals(): () => void {
    const handler = (): void => this.request();
    process.on("SIGINT", handler);
    process.on("SIGTERM", handler);
    return () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    };
  }
}

/**
 * Follows the coordinator's stream (GET /v1/events) and redraws on every event, until
 * stopped. A dropped or refused stream is shown as disconnected, with the last view, and
 * opened again after RECONNECT_DELAY_MS.
 */
export async function followCoordinator(coordinator: CoordinatorAccess, writer: FrameWriter, stop: WatchStop, timeoutMs: number): Promise<void> {
  let view: FollowedView = NOTHING_YET;
  const draw = (): void => writer.draw(followedLines(view, coordinator.url), followedKey(view));
  let response: IncomingMessage | undefined;
  void stop.stopped.then(() => response?.destroy());
  while (!stop.isStopped) {
    try {
      response = await openHttp(httpTarget(coordinator.url, "/v1/events", coordinator.tls), { method: "GET", timeoutMs, tls: coordinator.tls });
      if (stop.isStopped) {
        response.destroy();
        break;
      }
      if (response.statusCode !== 200) {
        response.destroy();
        throw new Error(response.statusCode === 503 ? "the coordinator serves as many streams as it may (streamSubscribersMax)" : `HTTP ${response.statusCode ?? "?"} (a coordinator older than the status stream?)`);
      }
      const stream = response;
      stream.setTimeout(STREAM_IDLE_MS, () => stream.destroy(new Error(`nothing received for ${STREAM_IDLE_MS / 1000} s`)));
      const parser = new SseParser(STREAM_LINE_CHARS_MAX);
      for await (const chunk of stream) {
        for (const event of parser.feed(Buffer.from(chunk as Uint8Array).toString("utf8"))) view = applyStreamEvent(view, event);
        draw();
      }
      if (!stop.isStopped) throw new Error("the coordinator closed the stream");
    } catch (error) {
      if (stop.isStopped) break;
      view = { ...view, connection: `disconnected (${describeNetworkError(error, timeoutMs, coordinator)}); reconnecting` };
      draw();
      await stop.pause(RECONNECT_DELAY_MS);
    }
  }
}

/**
 * Without a coordinator: asks the members for the leader's status every `intervalMs`
 * (`poll` is what `kvraft status` prints) and redraws. A round that fails keeps the last
 * table under a line saying why.
 */
export async function pollMembers(poll: () => Promise<string[]>, intervalMs: number, writer: FrameWriter, stop: WatchStop): Promise<void> {
  let last: string[] = [];
  while (!stop.isStopped) {
    try {
      last = await poll();
      writer.draw([`polling the members every ${intervalMs} ms (no coordinator known)`, ...last]);
    } catch (error) {
      if (stop.isStopped) break;
      writer.draw([`polling the members every ${intervalMs} ms: the last round failed (${(error as Error).message})`, ...last]);
    }
    await stop.pause(intervalMs);
  }
}
