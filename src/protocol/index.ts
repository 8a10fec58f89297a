/**
 * KVRaft's binary client protocol: frames, messages and their codecs. Pure — no IO,
 * no `node:` modules — so the server's client port and the client library share one
 * definition of the bytes. See frames.ts for the frame layout, request-codec.ts and
 * response-codec.ts for each message's payload.
 */
export {
  CONNECTION_REQUEST_ID,
  FRAME_BYTES_MAX_DEFAULT,
  FRAME_BYTES_MAX_LIMIT,
  FRAME_BYTES_MAX_MIN,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  PROTOCOL_VERSION,
  REQUEST_ID_MAX,
  RequestKind,
  ResponseKind,
  type Frame,
  type FrameAllocator,
} from "./frames.js";
export {
  INTERNAL_CODE,
  PERMISSION_DENIED_CODE,
  PROTOCOL_ERROR_CODE,
  TOO_LARGE_CODE,
  UNAUTHENTICATED_CODE,
  type Consistency,
  type LeaderRef,
  type Request,
  type RequestKindName,
  type Response,
  type ResponseKindName,
} from "./messages.js";
export { CLIENT_NAME_BYTES_MAX, CLIENT_TOKEN_BYTES_MAX, GET_MANY_KEYS_MAX, decodeRequest, encodeRelayedRequest, encodeRequest } from "./request-codec.js";
export { RESPONSE_ITEMS_MAX, decodeResponse, encodeResponse, reframeResponse } from "./response-codec.js";
export { FrameTooLargeError, ProtocolDecodeError, ProtocolEncodeError, RequestContextError } from "./errors.js";
export { CONTEXT_FLAG, ON_BEHALF_OF_CHARS_MAX, type WireRequestContext } from "./context-codec.js";
