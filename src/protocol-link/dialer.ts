import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { Address } from "./address.js";
import { type ClientTlsOptions, describeTlsFailure, isCertificateRejected, isPlainTextPort, tlsConnectOptions } from "../security/client-credentials.js";
import { CertificateRejectedError } from "./errors.js";

/**
 * The byte stream to one member's client-protocol port. The client library, and a
 * member forwarding to its leader, are written against this interface and import no
 * `node:` module for it; `tcpDialer` and `tlsDialer` are the one place sockets live.
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

/**
 * When the frames a caller writes leave in one system call. "turn": those written in one
 * turn of the event loop (a client's burst of calls). "loop-iteration": those written
 * while the event loop handles every socket that was ready at once, so a member
 * forwarding many clients' requests sends what their connections brought together in one
 * write, and the leader reads them together and proposes them in one Ready.
 */
export type WriteCoalescing = "turn" | "loop-iteration";

/** TCP with Nagle off: requests are small and latency matters more than packet count. */
export const tcpDialer: Dialer = tcpDialerCoalescing("turn");

export function tcpDialerCoalescing(coalescing: WriteCoalescing): Dialer {
  return (address, timeoutMs, handlers) =>
    dial(() => connect({ host: address.host, port: address.port }), "connect", undefined, timeoutMs, handlers, coalescing);
}

/**
 * TLS over TCP: the server's certificate is checked against `tls.ca` (and its name
 * against the host dialled) before any byte of the protocol, the HELLO and its token
 * included, is sent. A failed check rejects with what failed and what to give instead.
 */
export function tlsDialer(tls: ClientTlsOptions, coalescing: WriteCoalescing = "turn"): Dialer {
  return (address, timeoutMs, handlers) =>
    dial(() => tlsConnect({ host: address.host, port: address.port, ...tlsConnectOptions(tls, address.host) }), "secureConnect", tls, timeoutMs, handlers, coalescing);
}

function dial(open: () => Socket, readyEvent: "connect" | "secureConnect", tls: ClientTlsOptions | undefined, timeoutMs: number, handlers: LinkHandlers, coalescing: WriteCoalescing): Promise<Link> {
  return new Promise((resolve, reject) => {
    const socket = open();
    let settled = false;
    let lastError: Error | undefined;
    const timer = setTimeout(() => fail(new Error(`${tls === undefined ? "connect" : "connect and TLS handshake"} timed out after ${timeoutMs} ms`)), timeoutMs);
    function fail(error: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(explained(error, tls));
    }
    socket.once(readyEvent, () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.setNoDelay(true);
      socket.on("data", (chunk: Buffer) => handlers.data(chunk));
      // TLS 1.3 finishes the handshake before the server checks a client certificate, so
      // its refusal ("certificate required") arrives here, after the connection was handed out.
      socket.on("close", () => handlers.closed(lastError === undefined ? undefined : explained(lastError, tls)));
      let corked = false;
      const uncork = (): void => {
        corked = false;
        socket.uncork();
      };
      resolve({
        // The frames written together leave in one system call (see WriteCoalescing): a
        // pipelining caller sends bursts.
        write: (bytes) => {
          if (socket.destroyed || socket.writableEnded) return;
          if (!corked) {
            corked = true;
            socket.cork();
            if (coalescing === "turn") process.nextTick(uncork);
            else setImmediate(uncork);
          }
          socket.write(bytes);
        },
        close: () => socket.destroy(),
      });
    });
    socket.on("error", (error) => {
      lastError = error;
      fail(error);
    });
  });
}

/** A TLS failure in words; a rejected certificate or a plain-text port as CertificateRejectedError, which is not worth retrying. */
function explained(error: Error, tls: ClientTlsOptions | undefined): Error {
  const tlsProblem = describeTlsFailure(error, tls);
  if (tlsProblem === undefined) return error;
  const final = isCertificateRejected(error) || isPlainTextPort(error);
  return final ? new CertificateRejectedError(tlsProblem, { cause: error }) : new Error(tlsProblem, { cause: error });
}
