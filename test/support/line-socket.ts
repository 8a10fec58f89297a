import type { Socket } from "node:net";
import { waitFor } from "./wait.js";

/**
 * A text-protocol conversation over a raw socket (memcached): send bytes, wait for the
 * reply that matches, with a deadline. `closed` says whether the server hung up.
 */
export class LineSocket {
  private buffer = "";
  closed = false;

  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => { this.buffer += chunk.toString("latin1"); });
    socket.on("close", () => { this.closed = true; });
    socket.on("error", () => undefined);
  }

  /** Sends `text` and answers everything received up to and including the first match of `until`. */
  async send(text: string, until: RegExp = /\r\n$/, timeoutMs = 5000): Promise<string> {
    this.buffer = "";
    this.socket.write(text);
    return waitFor(`a reply matching ${String(until)} to ${JSON.stringify(text.slice(0, 40))}`, () => {
      const match = until.exec(this.buffer);
      return match === null ? undefined : this.buffer.slice(0, match.index + match[0].length);
    }, timeoutMs, 5);
  }

  close(): void {
    this.socket.destroy();
  }
}
