import { get, type ClientRequest, type IncomingMessage } from "node:http";
import { SseParser, type SseEvent } from "../../src/coord/sse-parser.js";
import { waitFor } from "./wait.js";

/** A stream line longer than this in a test is a bug in the stream. */
const LINE_CHARS_MAX = 1024 * 1024;

/** One open GET /v1/events over plain HTTP, keeping every event and comment it received. */
export class SseReader {
  readonly events: SseEvent[] = [];
  private readonly parser = new SseParser(LINE_CHARS_MAX);
  private request: ClientRequest | undefined;

  private constructor(readonly response: IncomingMessage) {}

  static open(url: string): Promise<SseReader> {
    return new Promise((resolve, reject) => {
      const request = get(url, (response) => {
        const reader = new SseReader(response);
        reader.request = request;
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => reader.events.push(...reader.parser.feed(chunk)));
        response.on("error", () => undefined);
        resolve(reader);
      });
      request.once("error", reject);
    });
  }

  get commentCount(): number {
    return this.parser.commentCount;
  }

  /** The first event named `event` whose data (parsed) passes `check`. */
  waitForEvent<T>(event: string, check: (data: T) => boolean, timeoutMs = 5000): Promise<T> {
    return waitFor(`a "${event}" event that passes the check`, () => {
      for (const each of this.events) {
        if (each.event !== event) continue;
        const data = JSON.parse(each.data) as T;
        if (check(data)) return data;
      }
      return undefined;
    }, timeoutMs, 20);
  }

  close(): void {
    this.request?.destroy();
  }
}
