import { checkBounds, type NumericBounds } from "../assert/bounds.js";
import type { NodeId } from "../raft/types.js";
import { TransportConfigError } from "./errors.js";
import { CLUSTER_ID_BYTES_MAX, FRAME_HEADER_BYTES } from "./frames.js";
import type { PeerTls } from "./peer-tls.js";

export interface PeerAddress {
  readonly id: NodeId;
  readonly host: string;
  readonly port: number;
}

/**
 * Settings of one node's peer transport. Every queue, buffer and wait has a limit here.
 * Memory per peer is bounded by queueBytesMax (messages waiting) plus one write batch
 * handed to the socket plus one incoming frame being assembled (frameBytesMax).
 */
export interface TransportConfig {
  /** This node's member id (1 or more). */
  readonly selfId: NodeId;
  /** Peers announcing another cluster id are refused, so two clusters never mix logs. */
  readonly clusterId: string;
  readonly listenHost: string;
  /** 0 picks any free port; `start()` reports the one chosen. */
  readonly listenPort: number;
  /** The other members: where to dial them. This node's id must not be among them. */
  readonly peers: readonly PeerAddress[];
  /** Messages waiting per peer; past it the oldest snapshot chunk or append is dropped. */
  readonly queueMessagesMax: number;
  /** Encoded bytes waiting per peer, enforced like queueMessagesMax. */
  readonly queueBytesMax: number;
  /**
   * The largest frame sent or accepted, header included. It must hold the largest Raft
   * message: an append of messageBytesMax plus one entry (a message always carries one),
   * or a snapshot chunk of snapshotChunkBytesMax. A larger message is dropped on send.
   */
  readonly frameBytesMax: number;
  /** Bytes handed to one socket write (at least one frame): how long a heartbeat may wait behind a batch. */
  readonly writeBatchBytesMax: number;
  /** The first wait before redialling a peer; doubled per failed attempt, with jitter. */
  readonly reconnectDelayMsMin: number;
  readonly reconnectDelayMsMax: number;
  /** From opening a connection to the end of the handshake, on either side. */
  readonly connectTimeoutMs: number;
  /** A socket that takes no bytes for this long (a dead or stuck peer) is closed and redialled. */
  readonly writeStallTimeoutMs: number;
  /** Inbound connections held at once; more are closed on accept. */
  readonly inboundConnectionsMax: number;
  /**
   * Inbound connections held at once from one remote address, counted at the TCP accept
   * (before TLS and HELLO); more are closed on accept. A member dials one connection to
   * each peer (a second only while it replaces a dead one), so a few suffice, and one
   * address that floods the port cannot take the slots the other members need.
   */
  readonly inboundConnectionsPerAddressMax: number;
  /** This member's endpoints, sent in each HELLO (read at connect time: ports may be bound late). */
  readonly advertise: () => Readonly<Record<string, string>>;
  /**
   * Mutual TLS (`peer-tls.ts`): a caller is the member its certificate names. Undefined:
   * plain TCP, where a caller is whoever its HELLO claims to be (tests, loopback only).
   */
  readonly tls?: PeerTls | undefined;
}

/** What a caller must give; everything else has a default. */
export type TransportOptions = Pick<TransportConfig, "selfId" | "clusterId"> & Partial<TransportConfig>;

const KIB = 1024;
const MIB = 1024 * KIB;
const PORT_MAX = 65_535;

export const DEFAULT_TRANSPORT_LIMITS = Object.freeze({
  listenHost: "127.0.0.1",
  listenPort: 0,
  queueMessagesMax: 4096,
  queueBytesMax: 64 * MIB,
  frameBytesMax: 16 * MIB,
  writeBatchBytesMax: MIB,
  reconnectDelayMsMin: 100,
  reconnectDelayMsMax: 5_000,
  connectTimeoutMs: 5_000,
  writeStallTimeoutMs: 30_000,
  inboundConnectionsMax: 256,
  inboundConnectionsPerAddressMax: 16,
} satisfies Partial<TransportConfig>);

/** Inclusive bounds per numeric field. */
const BOUNDS: NumericBounds<TransportConfig> = {
  selfId: [1, Number.MAX_SAFE_INTEGER],
  listenPort: [0, PORT_MAX],
  queueMessagesMax: [1, 1_000_000],
  queueBytesMax: [KIB, 16 * 1024 * MIB],
  // The frame length is a u32; a gibibyte is far past any sane Raft message.
  frameBytesMax: [FRAME_HEADER_BYTES + 64, 1024 * MIB],
  writeBatchBytesMax: [KIB, 256 * MIB],
  reconnectDelayMsMin: [1, 600_000],
  reconnectDelayMsMax: [1, 3_600_000],
  connectTimeoutMs: [1, 600_000],
  writeStallTimeoutMs: [1, 3_600_000],
  inboundConnectionsMax: [1, 65_536],
  inboundConnectionsPerAddressMax: [1, 65_536],
};

/** Returns the full config (defaults filled in) or throws `TransportConfigError` naming the field. */
export function validateTransportConfig(options: TransportOptions): TransportConfig {
  const known = new Set<string>([...Object.keys(BOUNDS), "clusterId", "listenHost", "peers", "advertise", "tls"]);
  for (const field of Object.keys(options)) {
    if (!known.has(field)) throw new TransportConfigError(field, undefined, "is not a transport config field");
  }
  const defined: Partial<TransportConfig> = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const config: TransportConfig = { ...DEFAULT_TRANSPORT_LIMITS, peers: [], advertise: () => ({}), ...defined, selfId: options.selfId, clusterId: options.clusterId };
  checkBounds(config, BOUNDS, (field, value, problem) => new TransportConfigError(field, value, problem));
  validateClusterId(config.clusterId);
  validateHost("listenHost", config.listenHost);
  if (config.reconnectDelayMsMax < config.reconnectDelayMsMin) {
    throw new TransportConfigError("reconnectDelayMsMax", config.reconnectDelayMsMax,
      `must be at least reconnectDelayMsMin (${config.reconnectDelayMsMin})`);
  }
  if (config.frameBytesMax > config.queueBytesMax) {
    throw new TransportConfigError("frameBytesMax", config.frameBytesMax,
      `must be at most queueBytesMax (${config.queueBytesMax}), or the largest message could never be queued`);
  }
  return Object.freeze({ ...config, peers: validatePeers(config.peers, config.selfId) });
}

/** Checks a peer list (also for `setPeers`) and returns a frozen copy. */
export function validatePeers(peers: readonly PeerAddress[], selfId: NodeId): readonly PeerAddress[] {
  if (!Array.isArray(peers)) throw new TransportConfigError("peers", peers, "must be an array of { id, host, port }");
  const seen = new Set<NodeId>();
  const checked = peers.map((peer, i) => {
    const field = `peers[${i}]`;
    if (typeof peer !== "object" || peer === null) throw new TransportConfigError(field, peer, "must be { id, host, port }");
    if (!Number.isSafeInteger(peer.id) || peer.id < 1) {
      throw new TransportConfigError(`${field}.id`, peer.id, "must be a member id (an integer of 1 or more)");
    }
    if (peer.id === selfId) throw new TransportConfigError(`${field}.id`, peer.id, "must not be this node's own id (selfId)");
    if (seen.has(peer.id)) throw new TransportConfigError(`${field}.id`, peer.id, "must appear only once in peers");
    seen.add(peer.id);
    validateHost(`${field}.host`, peer.host);
    if (!Number.isSafeInteger(peer.port) || peer.port < 1 || peer.port > PORT_MAX) {
      throw new TransportConfigError(`${field}.port`, peer.port, `must be an integer in [1, ${PORT_MAX}]`);
    }
    return Object.freeze({ id: peer.id, host: peer.host, port: peer.port });
  });
  return Object.freeze(checked);
}

function validateClusterId(clusterId: unknown): void {
  if (typeof clusterId !== "string" || clusterId.length === 0) {
    throw new TransportConfigError("clusterId", clusterId, "must be a non-empty string");
  }
  if (new TextEncoder().encode(clusterId).length > CLUSTER_ID_BYTES_MAX) {
    throw new TransportConfigError("clusterId", clusterId, `must be at most ${CLUSTER_ID_BYTES_MAX} UTF-8 bytes`);
  }
}

function validateHost(field: string, host: unknown): void {
  if (typeof host !== "string" || host.length === 0) {
    throw new TransportConfigError(field, host, "must be a non-empty host name or IP address");
  }
}
