import type { Logger } from "pino";
import type { ReplicaEvent } from "./replica.js";
import type { ReplicaMetrics } from "./replica-metrics.js";

/** What a member logs and counts for each event of its Replica. */
export function logReplicaEvent(event: ReplicaEvent, log: Logger, metrics: ReplicaMetrics): void {
  if (event.type === "role-changed") {
    metrics.leaderChanges.inc();
    log.info({ role: event.role, term: event.term, leader: event.leader }, `${event.role} in term ${event.term}, leader ${event.leader}`);
  } else if (event.type === "snapshot-saved") {
    metrics.snapshotSeconds.observe(event.ms / 1000);
    log.info({ event }, `snapshot saved at index ${event.index} (${event.sizeBytes} bytes, ${event.ms} ms)`);
  } else if (event.type === "snapshot-refused") {
    log.warn({ event }, `refused the leader's snapshot at index ${event.index}: ${event.reason}; it was discarded and the leader sends it again`);
  } else if (event.type === "fatal") {
    log.error({ err: event.error }, `stopping: ${event.error.message}`);
  } else if (event.type === "disk-full") {
    log.error({ event }, `${event.message}; refusing writes (NOSPACE) and retrying`);
  } else {
    log.info({ event }, event.type);
  }
}
