import { connect, type Socket } from "node:net";
import type { Address } from "./address.js";

/**
 * The byte stream to one member. The rest of the client is written against this
 * interface and imports no `node:` module; `tcpDialer` is the one place sockets live.
 */
export interface Link {
  write(bytes: Uint8Array): void;
  close(): void;
}

export interface LinkHandlers {
  data(chunk: Uint8Array): void;
  /** Called once, when the stream ends for any reason (`error` says why, if known). */
  closed(error: Error | undefined): void;
}

export type Dialer = (address: Address, timeoutMs: number, handlers: LinkHandlers) => Promise<Link>;

/** TCP with Nagle off: requests are small and latency matters more than packet count. */
export const tcpDialer: Dialer = (address, timeoutMs, handlers) =>
  new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: address.host, port: address.port });
    let settled = false;
    let lastError: Error | undefined;
    const timer = setTimeout(() => fail(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);
    function fail(error: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    }
    socket.once("connect", () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.setNoDelay(true);
      socket.on("data", (chunk: Buffer) => handlers.data(chunk));
      socket.on("close", () => handlers.closed(lastError));
      resolve({
        write: (bytes) => {
          if (!socket.destroyed && !socket.writableEnded) socket.write(bytes);
        },
        close: () => socket.destroy(),
      });
    });
    socket.on("error", (error) => {
      lastError = error;
      fail(error);
    });
  });
