import { z } from "zod";

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
  /** A register or heartbeat body larger than this is refused with 413. */
  readonly bodyBytesMax: number;
  /** How often the view is re-read to notice members going silent and to forget them. */
  readonly watchIntervalMs: number;
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
};

/** The longest a single string field of a heartbeat may be (ids, addresses, versions). */
export const HEARTBEAT_STRING_CHARS_MAX = 256;

const schema = z.object({
  host: z.string().min(1, "--host must not be empty"),
  port: z.number().int().min(0).max(65535, "--port must be 0..65535"),
  unreachableAfterMs: z.number().int().min(10, "--unreachable-after-ms must be at least 10").max(3_600_000),
  forgetAfterMs: z.number().int().min(1000).max(7 * 24 * 3_600_000),
  membersPerClusterMax: z.number().int().min(1).max(1024),
  clustersMax: z.number().int().min(1).max(1024),
  bodyBytesMax: z.number().int().min(1024).max(16 * 1024 * 1024),
  watchIntervalMs: z.number().int().min(10).max(60_000),
}).refine((c) => c.forgetAfterMs > c.unreachableAfterMs, {
  message: "forgetAfterMs must be larger than unreachableAfterMs (a member is unreachable before it is forgotten)",
  path: ["forgetAfterMs"],
});

/** Fills defaults and checks ranges; a problem names the field. */
export function validateCoordinatorConfig(partial: Partial<CoordinatorConfig>): CoordinatorConfig {
  const config = { ...DEFAULT_COORDINATOR_CONFIG, ...definedOnly(partial) };
  const result = schema.safeParse(config);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new RangeError(`coordinator config ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  return config;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
