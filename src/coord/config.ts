import { checkBounds, type NumericBounds } from "../assert/bounds.js";

/**
 * The coordinator's settings. Every table it keeps and every request it reads has a
 * named maximum here, so a misbehaving or hostile client can cost it bounded memory.
 */
export interface CoordinatorConfig {
  /** Address to bind: 127.0.0.1 on a laptop, 0.0.0.0 in a pod. */
  readonly host: string;
  /** 0 picks a free port (tests); `startCoordinator` returns the one it got. */
  readonly port: number;
  /** A member not heard from for longer than this is "unreachable"; heard again, "alive". */
  readonly unreachableAfterMs: number;
  /**
   * A member silent this long is dropped from the view (and a cluster with no members
   * left is dropped too), so removed or renamed members do not stay forever.
   */
  readonly forgetAfterMs: number;
  /** Members tracked per cluster: Raft clusters are small, learners included. */
  readonly membersPerClusterMax: number;
  /** Clusters tracked at once (one coordinator per cluster is the normal case). */
  readonly clustersMax: number;
  /**
   * The one cluster this coordinator serves (`--cluster-id`); a report of any other is
   * refused and never tracked. Unset: every cluster that reports is tracked, up to
   * clustersMax. The operator sets it, so that after a quorum-loss recovery (a new
   * cluster id) the old id's silent members do not linger beside the new ones for
   * forgetAfterMs and make GET /v1/cluster ambiguous, and no stranger adds a cluster.
   */
  readonly clusterId?: string;
  /** A register or heartbeat body larger than this is refused with 413. */
  readonly bodyBytesMax: number;
  /** How often the view is re-read to notice members going silent and to forget them. */
  readonly watchIntervalMs: number;
  /** Changes of the view kept for the status page and its stream (the leader's history, elections, joins). */
  readonly historyEntriesMax: number;
  /** Open status streams (GET /v1/events) at once; one more is answered 503. */
  readonly streamSubscribersMax: number;
  /** Bytes queued for one stream reader that is not reading; past it the stream is closed (it reconnects). */
  readonly streamBufferBytesMax: number;
  /** A comment line sent this often on an idle stream, so proxies do not close it. */
  readonly streamKeepAliveMs: number;
  /** An unchanged view is sent again this often, so "last heard" ages move on the page. */
  readonly streamRefreshMs: number;
}

export const DEFAULT_COORDINATOR_CONFIG: CoordinatorConfig = {
  host: "127.0.0.1",
  port: 7070,
  unreachableAfterMs: 3000,
  forgetAfterMs: 10 * 60_000,
  membersPerClusterMax: 64,
  clustersMax: 16,
  // A status lists every member with its addresses: about 300 bytes each, so 64 KiB
  // holds a full cluster several times over.
  bodyBytesMax: 64 * 1024,
  watchIntervalMs: 250,
  historyEntriesMax: 50,
  // A person's browser tab or terminal each: a handful per cluster is normal.
  streamSubscribersMax: 32,
  // A view of a full cluster is about 30 KiB: a reader may fall a few views behind.
  streamBufferBytesMax: 256 * 1024,
  streamKeepAliveMs: 15_000,
  streamRefreshMs: 1000,
};

/** The longest a single string field of a heartbeat may be (ids, addresses, versions). */
export const HEARTBEAT_STRING_CHARS_MAX = 256;

const BOUNDS: NumericBounds<CoordinatorConfig> = {
  port: [0, 65_535],
  unreachableAfterMs: [10, 3_600_000],
  forgetAfterMs: [1000, 7 * 24 * 3_600_000],
  membersPerClusterMax: [1, 1024],
  clustersMax: [1, 1024],
  bodyBytesMax: [1024, 16 * 1024 * 1024],
  watchIntervalMs: [10, 60_000],
  historyEntriesMax: [1, 10_000],
  streamSubscribersMax: [0, 10_000],
  streamBufferBytesMax: [16 * 1024, 64 * 1024 * 1024],
  streamKeepAliveMs: [100, 300_000],
  streamRefreshMs: [100, 60_000],
};

/** Fills defaults and checks ranges; a problem names the field and its unit. */
export function validateCoordinatorConfig(partial: Partial<CoordinatorConfig>): CoordinatorConfig {
  const config = { ...DEFAULT_COORDINATOR_CONFIG, ...definedOnly(partial) };
  if (typeof config.host !== "string" || config.host.length === 0) throw new RangeError("coordinator config host: must not be empty (--host)");
  checkClusterId(config.clusterId);
  checkBounds(config, BOUNDS, (field, value, problem) => new RangeError(`coordinator config ${field}: ${problem}, got ${String(value)}`));
  if (config.forgetAfterMs <= config.unreachableAfterMs) {
    throw new RangeError("coordinator config forgetAfterMs: must be larger than unreachableAfterMs (a member is unreachable before it is forgotten)");
  }
  return config;
}

/** A served cluster id must be one a heartbeat could carry, or no report would ever be taken. */
function checkClusterId(clusterId: string | undefined): void {
  if (clusterId === undefined) return;
  if (typeof clusterId !== "string" || clusterId.trim().length === 0) {
    throw new RangeError("coordinator config clusterId: must not be empty (--cluster-id, KVRAFT_COORD_CLUSTER_ID): give the id the members carry, or leave it unset to track every cluster");
  }
  if (clusterId !== clusterId.trim()) {
    // A trailing newline from a file or a template would make every member's report a mismatch.
    throw new RangeError(`coordinator config clusterId: must not start or end with white space, got ${JSON.stringify(clusterId)}`);
  }
  if (clusterId.length > HEARTBEAT_STRING_CHARS_MAX) {
    throw new RangeError(`coordinator config clusterId: must be at most ${HEARTBEAT_STRING_CHARS_MAX} characters (a heartbeat's longest string), got ${clusterId.length}`);
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
