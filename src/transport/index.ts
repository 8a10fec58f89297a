/**
 * The transport layer's public surface: Raft's peer connections over TCP (TcpTransport)
 * and the pure wire codec beneath it (messages, frames, the frame decoder).
 */
export { reconnectDelayMs } from "./backoff.js";
export { decodeMessage, encodeMessage, MESSAGE_CODEC_VERSION } from "./codec.js";
export {
  DEFAULT_TRANSPORT_LIMITS,
  type PeerAddress,
  type TransportConfig,
  type TransportOptions,
  validatePeers,
  validateTransportConfig,
} from "./config.js";
export {
  FrameTooLargeError,
  TransportConfigError,
  TransportDecodeError,
  TransportEncodeError,
  TransportError,
  TransportListenError,
  TransportProtocolError,
  TransportStateError,
} from "./errors.js";
export type { Direction, DropReason, ErrorStage, PeerStats, TransportEvent } from "./events.js";
export {
  CLUSTER_ID_BYTES_MAX,
  decodeHello,
  decodeHelloAck,
  decodeRaftFrame,
  type DecodedRaftFrame,
  decodeRefuse,
  encodeFrame,
  encodeHello,
  encodeHelloAck,
  encodeRaftFrame,
  encodeRefuse,
  encodeTracedRaftFrame,
  type Frame,
  FRAME_HEADER_BYTES,
  FRAME_VERSION,
  FrameDecoder,
  FrameType,
  HANDSHAKE_FRAME_BYTES_MAX,
  type Hello,
  type Refuse,
  REFUSE_CODES,
  type RefuseCode,
} from "./frames.js";
export { authenticatedMember, expectMember, type PeerTls } from "./peer-tls.js";
export { TcpTransport, type TransportHandlers } from "./tcp-transport.js";
