/**
 * The coordinator: discovery and observation for KVRaft clusters.
 *
 * Servers register when they start and heartbeat their /v1/status every interval (the
 * server's own `startCoordReporter`, `../server/coord-reporter.ts`, run by `kvraft server
 * --coord URL`). The coordinator keeps the last report of each member (`Registry`, pure,
 * time as an input), decides liveness from how long ago that was, and shows the member
 * that reports itself leader with the highest term. Clients ask it `GET /v1/cluster` for who leads and who is there.
 *
 * It never picks a leader and nothing in Raft waits on it: with the coordinator down,
 * servers keep electing and committing and clients use the addresses they know. It
 * keeps nothing on disk; restarted, it rebuilds the same view from the next heartbeats.
 */
export { buildCoordinatorApp } from "./app.js";
export type { CoordinatorAppOptions } from "./app.js";
export { advertisedAddresses, buildClusterView, livenessOf, pickLeader } from "./cluster-view.js";
export type { ClusterView, LeaderView, Liveness, MemberRecord, MemberView } from "./cluster-view.js";
export { DEFAULT_COORDINATOR_CONFIG, HEARTBEAT_STRING_CHARS_MAX, validateCoordinatorConfig } from "./config.js";
export type { CoordinatorConfig } from "./config.js";
export { CoordinatorListenError, startCoordinator } from "./coordinator.js";
export type { CoordinatorOptions, RunningCoordinator } from "./coordinator.js";
export { InvalidHeartbeatError, parseHeartbeat, STATUS_MEMBERS_MAX } from "./heartbeat.js";
export type { Heartbeat, HeartbeatKind } from "./heartbeat.js";
export { CoordinatorMetrics } from "./metrics.js";
export { Registry } from "./registry.js";
export type { ObserveOutcome, RegistryLimits } from "./registry.js";
export { describeCoordEvent, viewChanges } from "./view-changes.js";
export type { CoordEvent } from "./view-changes.js";
