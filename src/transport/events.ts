import type { MessageType } from "../raft/messages.js";
import type { NodeId } from "../raft/types.js";
import type { RefuseCode } from "./frames.js";

/**
 * What the transport reports. The library never logs: the server decides what to log
 * and at which level. "outbound" is the connection this node dialled to send; "inbound"
 * is one a peer dialled to send to this node.
 */
export type Direction = "outbound" | "inbound";

export type DropReason =
  /** The peer's queue was full (a slow or unreachable peer); the oldest droppable message went. */
  | "queue-full"
  /** The encoded message exceeds frameBytesMax: the peer would close the connection on it. */
  | "frame-too-large"
  /** No address is known for the message's `to`. */
  | "unknown-peer"
  /**
   * Inbound: the owner refused a message from a peer (`onMessage` returned a reason: a
   * sender not in the configuration, a message no correct member sends). It was not
   * stepped, and the connection was closed.
   */
  | "rejected";

export type ErrorStage =
  /** Dialling failed or timed out (the peer is down, unreachable or slow to answer). */
  | "connect"
  /** The handshake broke: a bad or missing HELLO / HELLO_ACK. */
  | "handshake"
  /** Inbound, with TLS: a caller's TLS handshake failed (no certificate, another CA, too slow). */
  | "tls"
  /** The peer sent bytes that are not well-formed frames or messages. */
  | "decode"
  /** A socket failed or stalled while open. */
  | "socket"
  /** The listening socket failed. */
  | "listen"
  /** A connection refused at accept: inboundConnectionsMax or inboundConnectionsPerAddressMax reached. */
  | "limit";

export type TransportEvent =
  | {
      readonly type: "connected"; readonly peerId: NodeId; readonly direction: Direction; readonly remoteAddress: string;
      /** Inbound only: the endpoints the peer advertised in its HELLO. */
      readonly advertise?: Readonly<Record<string, string>>;
      /** A verified certificate (mutual TLS) proved `peerId`; false: plain TCP, the id is only claimed. */
      readonly authenticated: boolean;
    }
  | {
    readonly type: "disconnected";
    readonly peerId: NodeId;
    readonly direction: Direction;
    readonly reason: string;
  }
  | {
    /**
     * A handshake was refused. Inbound: this node refused a caller (`peerId` is the id it
     * announced, 0 if none). Outbound: the peer refused this node. Either way a peer is
     * misconfigured (another cluster, or an address that reaches the wrong member).
     */
    readonly type: "refused";
    readonly peerId: NodeId;
    readonly direction: Direction;
    readonly code: RefuseCode;
    readonly reason: string;
    readonly remoteAddress: string;
    /** Inbound "not-a-member" only: the endpoints the caller advertised (a member about to join says where it is). */
    readonly advertise?: Readonly<Record<string, string>>;
    /** Inbound: a verified certificate (mutual TLS) proved `peerId`. */
    readonly authenticated?: boolean;
  }
  | {
    readonly type: "dropped";
    readonly peerId: NodeId;
    readonly messageType: MessageType;
    readonly reason: DropReason;
    /** Messages dropped for this peer so far (for unknown peers: for all of them), for log sampling. */
    readonly droppedTotal: number;
    /** "rejected" only: why the owner refused the message. */
    readonly detail?: string;
  }
  | {
    readonly type: "error";
    /** 0 when the error is not about one peer (the listener). */
    readonly peerId: NodeId;
    readonly stage: ErrorStage;
    readonly error: Error;
    /** When a redial is scheduled after this error: in how long. */
    readonly retryDelayMs?: number;
  };

export interface PeerStats {
  /** The outbound connection (this node to the peer) has completed its handshake. */
  readonly connected: boolean;
  /** An inbound connection from the peer is open. */
  readonly inboundConnected: boolean;
  /** Messages and frame bytes handed to the socket. */
  readonly sentMessages: number;
  readonly sentBytes: number;
  /** Socket writes those took: each write carries a batch of frames. */
  readonly writes: number;
  readonly receivedMessages: number;
  readonly receivedBytes: number;
  readonly dropped: number;
  /** Dial attempts after the first one. */
  readonly reconnects: number;
  readonly queuedMessages: number;
  readonly queuedBytes: number;
}

export const ZERO_PEER_STATS: PeerStats = Object.freeze({
  connected: false,
  inboundConnected: false,
  sentMessages: 0,
  sentBytes: 0,
  writes: 0,
  receivedMessages: 0,
  receivedBytes: 0,
  dropped: 0,
  reconnects: 0,
  queuedMessages: 0,
  queuedBytes: 0,
});
