/**
 * The binary client protocol's server side: `ClientPortServer` on a TCP port in front of
 * a KvService (pipelined, answered by request id, REDIRECT to the leader unless the
 * client asked for forwarding), and `attachClientPort` to start it inside a member.
 */
export { ClientPortServer, type ClientPortEvent, type ClientPortStats } from "./server.js";
export {
  ClientPortConfigError,
  DEFAULT_CLIENT_PORT_OPTIONS,
  validateClientPortOptions,
  type ClientPortOptions,
  type ClientPortOptionsInput,
  type LeadershipView,
} from "./config.js";
export { attachClientPort, leadershipOf, type AttachedClientPort, type ClientPortMember } from "./attach.js";
