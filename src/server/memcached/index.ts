/**
 * The memcached text-protocol front-end of KVRaft: `MemcachedServer` on a TCP port in
 * front of a KvService, and the pure parts it is built from (parser, serializer,
 * exptime rules) for other front-ends and tests.
 */
export { MemcachedServer, type MemcachedServerEvent, type MemcachedServerStats } from "./server.js";
export {
  DEFAULT_MEMCACHED_OPTIONS,
  MemcachedConfigError,
  validateMemcachedOptions,
  type MemcachedServerOptions,
} from "./config.js";
export { RequestParser, serializeReply, type ParserLimits, type Reply, type ValueItem } from "./parser.js";
export type { ParseEvent, ProtocolError, Request } from "./requests.js";
export { KEY_BYTES_MAX } from "./requests.js";
export { executeRequest, type CommandContext } from "./commands.js";
export { RELATIVE_EXPTIME_SECONDS_MAX, expiryFromExptime, type Expiry } from "./expiry.js";
