import { invariant } from "../assert/invariant.js";
import { PROTOCOL_ERROR_CODE, type Response, type WireRequestContext } from "../protocol/index.js";
import { newRequestId } from "../request-id.js";
import { errorFromReply } from "./call.js";
import {
  AttemptTimeoutError, AuthenticationError, ConnectionLostError, InvalidArgumentError, KvClientError, PermissionDeniedError, ProtocolError, TlsVerificationError, UnavailableError,
} from "./errors.js";
import { tcpDialer, tlsDialer, type Dialer } from "../protocol-link/dialer.js";
import { PipelinedConnection, describeResponse, type PipelineErrors, type RequestBuilder } from "../protocol-link/pipelined-connection.js";
import { CertificateRejectedError } from "../protocol-link/errors.js";
import type { ClientTlsOptions } from "../security/client-credentials.js";

export type { StreamListener } from "../protocol-link/pipelined-connection.js";

export interface ConnectionOptions {
  readonly clientName: string;
  readonly forward: boolean;
  /** Sent in HELLO (the cluster's --auth-token-file). */
  readonly token: string | undefined;
  /** TLS on the connection (when no `dialer` is given). */
  readonly tls: ClientTlsOptions | undefined;
  readonly frameBytesMax: number;
  readonly connectTimeoutMs: number;
  readonly dialer: Dialer | undefined;
}

export type HelloOk = Extract<Response, { kind: "hello-ok" }>;

/** The client library's classes for a connection's failures (see PipelineErrors). */
const CLIENT_ERRORS: PipelineErrors = {
  lost: (message, cause) => new ConnectionLostError(message, cause === undefined ? undefined : { cause }),
  timedOut: (message) => new AttemptTimeoutError(message),
  invalid: (message, code) => new InvalidArgumentError(message, code),
};

/**
 * What a call needs of the connection it is sent on: where it goes, who answered HELLO
 * there, and one request's round trip. ClientConnection over a socket; the simulator's
 * over its modelled network.
 */
export interface CallConnection {
  readonly address: string;
  /** The member's id as its HELLO_OK said (0 before it, or from a server that does not know it). */
  readonly memberId: number;
  request(build: RequestBuilder, timeoutMs: number, context?: WireRequestContext): Promise<Response>;
  /** Ends it: calls in flight on it fail (ConnectionLostError) and are retried elsewhere. */
  close(reason: string): void;
}

/** What the leader router and finder need beyond a call: the HELLO, and the connection's end. */
export interface RoutedConnection extends CallConnection {
  readonly hello: HelloOk;
  readonly closed: boolean;
  onClose(listener: (error: Error) => void): void;
}

/**
 * The client library's connection to one member: a PipelinedConnection (replies matched
 * by id, at most the server's inFlightMax calls outstanding, every outstanding call
 * failed with ConnectionLostError when it ends) opened with the client's HELLO.
 */
export class ClientConnection extends PipelinedConnection implements RoutedConnection {
  private helloOk: HelloOk | undefined;

  private constructor(address: string, frameBytesMax: number) {
    super(address, frameBytesMax, CLIENT_ERRORS);
  }

  /**
   * Connects and exchanges HELLO; rejects with UnavailableError when either fails. The
   * HELLO carries a request context, which probes the server: a server from before
   * request contexts refuses the flagged frame (unknown request kind) and closes, and
   * the connection is made again without contexts, so a new client works with an old
   * server (its calls then carry no request id or stamp).
   */
  static async open(address: string, options: ConnectionOptions, sendContexts = true): Promise<ClientConnection> {
    const connection = new ClientConnection(address, options.frameBytesMax);
    connection.sendsContexts = sendContexts;
    const dialer = options.dialer ?? (options.tls === undefined ? tcpDialer : tlsDialer(options.tls));
    try {
      await connection.connect(dialer, options.connectTimeoutMs);
    } catch (error) {
      if (error instanceof TlsVerificationError || error instanceof CertificateRejectedError) throw new TlsVerificationError(`${address}: ${error.message}`, { cause: error.cause });
      throw new UnavailableError(`cannot connect to ${address}: ${(error as Error).message}`, { cause: error });
    }
    try {
      const token = options.token === undefined ? {} : { token: options.token };
      const probe = sendContexts ? { requestId: newRequestId() } : undefined;
      const reply = await connection.request((requestId) => ({ kind: "hello", requestId, clientName: options.clientName, forward: options.forward, ...token }), options.connectTimeoutMs, probe);
      if (probe !== undefined && refusesContexts(reply)) {
        connection.close("the server predates request contexts: connecting again without them");
        return await ClientConnection.open(address, options, false);
      }
      if (reply.kind === "error") {
        const refused = errorFromReply(reply);
        if (refused instanceof AuthenticationError) {
          throw new AuthenticationError(`${address} refused the connection: ${options.token === undefined ? `the cluster wants a token and none was given (the token option; ${reply.message})` : refused.message}`);
        }
        if (refused instanceof PermissionDeniedError) throw new PermissionDeniedError(`${address}: ${refused.message}`);
      }
      if (reply.kind !== "hello-ok") throw new ProtocolError(`${address} answered HELLO with ${describeResponse(reply)}`);
      connection.helloOk = reply;
      connection.useServerLimits(reply);
      return connection;
    } catch (error) {
      connection.close("HELLO failed");
      // Credentials refused: the same token fails on every member; say so now instead of retrying to the deadline.
      if (error instanceof KvClientError && !error.retryable && !(error instanceof ProtocolError)) throw error;
      throw error instanceof UnavailableError ? error : new UnavailableError(`${address}: ${(error as Error).message}`, { cause: error });
    }
  }

  get hello(): HelloOk {
    invariant(this.helloOk !== undefined, () => "a connection is handed out only after HELLO");
    return this.helloOk;
  }

  /** The member's id as its HELLO_OK said (0 before it, or from a server that does not know it). */
  get memberId(): number {
    return this.helloOk?.memberId ?? 0;
  }
}

/** An old server's answer to a frame with the context flag: it does not know the kind. */
function refusesContexts(reply: Response): boolean {
  return reply.kind === "error" && reply.code === PROTOCOL_ERROR_CODE && reply.message.includes("unknown request kind");
}
