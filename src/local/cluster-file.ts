import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { LocalPlan } from "./plan.js";
import { coordinatorUrl, LOCAL_HOST } from "./plan.js";

export const CLUSTER_FILE = "cluster.json";

/**
 * `<cluster-dir>/cluster.json`: where a local cluster listens and which cluster it is.
 * Other tools read it to find the cluster (the CLI verbs, tests); `kvraft local` reads
 * it back to reuse the cluster id, the size and the ports on the next start.
 * Member addresses are HOST:PORT, as in /v1/status; the coordinator is a URL.
 * `security` (absent for a cluster without TLS) says the members' HTTP, client and
 * memcached ports speak TLS and where the CA and the tokens are.
 */
export interface ClusterFile {
  readonly clusterId: string;
  readonly basePort: number;
  readonly coordinator: string;
  readonly members: readonly ClusterFileMember[];
  readonly security?: ClusterFileSecurity;
}

/**
 * How to reach a local cluster that serves TLS and wants tokens. Paths are absolute
 * (a relative one is read from the cluster dir); each token file holds one token.
 */
export interface ClusterFileSecurity {
  /** "https": the members' HTTP ports serve HTTPS (their client and memcached ports TLS). */
  readonly scheme: "https";
  /** The cluster's CA certificate: `curl --cacert`, `kvraft --cacert`. */
  readonly caFile: string;
  /** The token the CLI uses by default: role read-write (reads and writes, no admin). */
  readonly tokenFile: string;
  /** The admin token (membership, snapshots): the CLI's admin verbs use it. */
  readonly adminTokenFile: string;
  readonly readOnlyTokenFile: string;
}

export interface ClusterFileMember {
  readonly id: number;
  readonly peer: string;
  readonly http: string;
  readonly memcached: string;
  readonly client: string;
  readonly dataDir: string;
}

const schema = z.object({
  clusterId: z.string().min(1),
  basePort: z.number().int().min(1).max(65535),
  coordinator: z.string(),
  members: z.array(z.object({
    id: z.number().int().min(1),
    peer: z.string(), http: z.string(), memcached: z.string(), client: z.string(), dataDir: z.string(),
  })).min(1),
  security: z.object({
    scheme: z.literal("https"), caFile: z.string().min(1), tokenFile: z.string().min(1), adminTokenFile: z.string().min(1), readOnlyTokenFile: z.string().min(1),
  }).optional(),
});

export function clusterFileOf(plan: LocalPlan): ClusterFile {
  const security = plan.security;
  return {
    clusterId: plan.clusterId,
    basePort: plan.basePort,
    coordinator: coordinatorUrl(plan),
    members: plan.members.map((m) => ({
      id: m.id,
      peer: `${LOCAL_HOST}:${m.peerPort}`,
      http: `${LOCAL_HOST}:${m.httpPort}`,
      memcached: `${LOCAL_HOST}:${m.memcachedPort}`,
      client: `${LOCAL_HOST}:${m.clientPort}`,
      dataDir: m.dataDir,
    })),
    ...(security === undefined ? {} : {
      security: { scheme: "https", caFile: security.caFile, tokenFile: security.readWriteTokenFile, adminTokenFile: security.adminTokenFile, readOnlyTokenFile: security.readOnlyTokenFile },
    }),
  };
}

/** The file from a previous start, or undefined on the first one. A damaged file is an error naming it. */
export async function readClusterFile(clusterDir: string): Promise<ClusterFile | undefined> {
  const path = join(clusterDir, CLUSTER_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new RangeError(`${path} is not JSON (${(error as Error).message}): fix it, or move the cluster dir away to start a new cluster`);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new RangeError(`${path}: ${issue?.path.join(".") ?? ""} ${issue?.message ?? "does not match the expected shape"}: fix it, or move the cluster dir away to start a new cluster`);
  }
  return result.data;
}

/**
 * Written to a temporary file and renamed over the old one, so a reader (or a crash)
 * sees the old file or the new one, never half of one.
 */
export async function writeClusterFile(clusterDir: string, file: ClusterFile): Promise<void> {
  await mkdir(clusterDir, { recursive: true });
  const path = join(clusterDir, CLUSTER_FILE);
  const temporary = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { encoding: "utf8", flush: true });
  await rename(temporary, path);
}

export function newClusterId(): string {
  return randomUUID();
}
