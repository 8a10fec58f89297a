/**
 * KVRaft's client library: `createClient({ endpoints, coordinator })` and the KvClient it
 * returns (get/put/delete/cas/list/watch/status and the admin verbs), typed errors, and
 * status events. Pipelined over the binary protocol (src/protocol/), exactly-once writes
 * through sessions, leader discovery and retries through failovers until a deadline.
 */
export {
  KvClient,
  createClient,
  type CallOptions,
  type DeleteOptions,
  type ListOptions,
  type PutOptions,
  type ReadOptions,
} from "./client.js";
export type { CallRequestOptions } from "./call-request.js";
export type { ClientOptions } from "./options.js";
export type { ClientTlsOptions } from "../security/client-credentials.js";
export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_DEADLINE_MS, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_WRITES_IN_FLIGHT_MAX } from "./options.js";
export type { ClientEvent, ClientEventListener } from "./events.js";
export type { WatchOptions, WatchSubscription } from "./watch.js";
export type { MemberList, MembershipChange } from "./admin.js";
export type { BytesInput, DeleteResult, KvEntry, ListPage, PutResult, WatchEvent } from "./values.js";
export type { Dialer, Link, LinkHandlers } from "../protocol-link/dialer.js";
export type { Consistency } from "../protocol/index.js";
export {
  AdminError,
  AttemptTimeoutError,
  AuthenticationError,
  BusyError,
  ClientClosedError,
  CompactedError,
  ConnectionLostError,
  InvalidArgumentError,
  KeyNotFoundError,
  KvClientError,
  NoSpaceError,
  NotLeaderError,
  PermissionDeniedError,
  ProtocolError,
  ServerError,
  SessionExpiredError,
  StaleSequenceError,
  TimeoutError,
  TlsVerificationError,
  UnavailableError,
  VersionMismatchError,
} from "./errors.js";
