import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AdminError, createClient, type KvClient } from "../../client/index.js";
import { newClusterId } from "../../local/cluster-file.js";
import { findLeader, type LocalAccess, localAccess, memberStatus } from "../../local/leader.js";
import { prepareLocalSecurity } from "../../local/local-security.js";
import { LOCAL_HOST, type LocalPlan, type MemberPlan, memberHttpUrl, serverArgs } from "../../local/plan.js";
import { localSecurityFiles } from "../../local/security-files.js";
import type { ClientTlsOptions } from "../../security/client-credentials.js";
import { httpCall, httpTarget } from "../../security/https-call.js";
import { VERSION } from "../../version.js";
import type { WalCounters, WalCounterSource } from "./measure.js";
import { MemberProcess } from "./member-process.js";
import { freeLoopbackPorts } from "./ports.js";
import { type BenchClient, type BenchSystem, type MemorySplit, CATCH_UP_TIMEOUT_MS, caughtUp, LEARNER_PROMOTED_TIMEOUT_MS, pollUntil, PROMOTE_RETRY_MS } from "./system.js";
import { MEMBER_NODE_FLAGS } from "../../server/member-node-flags.js";

const PORTS_PER_MEMBER = 4;
/** From start to a leader that takes writes: a few election timeouts, on a loaded machine. */
const READY_TIMEOUT_MS = 30_000;
const STATUS_TIMEOUT_MS = 2000;
/** The program the members run: dist/cli.js beside this module. */
const CLI = fileURLToPath(new URL("../../cli.js", import.meta.url));

/**
 * KVRaft's side: three `kvraft server` processes with the same command line as
 * `kvraft local` gives them (src/local/plan.ts), minus the coordinator (discovery only,
 * and its heartbeats would cost CPU the etcd side does not pay), at warn level. With
 * TLS, the security `kvraft local` runs with: its CA, member certificates and tokens
 * (made the same way, under the bench's dir), TLS on every client port and mutual TLS
 * between members; the load authenticates with the read-write token.
 */
export class KvraftSystem implements BenchSystem, WalCounterSource {
  readonly name = "kvraft" as const;
  readonly label = `KVRaft ${VERSION}`;
  /** Members added by addLearner, stopped with the others. */
  private readonly added: MemberProcess[] = [];

  private constructor(
    readonly plan: LocalPlan,
    readonly members: readonly MemberProcess[],
    /** What the load connects with: the CA and the read-write token; plain when undefined. */
    private readonly credentials: LoadCredentials | undefined,
    /** What the bench's status and metrics calls use: the CA and the admin token, as `kvraft local`'s own calls. */
    private readonly access: LocalAccess,
  ) {}

  /**
   * `profileDir`: the members run under `node --cpu-prof` and write their profiles there
   * when they stop. `securityDir`: TLS and tokens, their files made there (see the class).
   */
  static async create(root: string, memberCount: number, profileDir?: string, securityDir?: string): Promise<KvraftSystem> {
    const ports = await freeLoopbackPorts(memberCount * PORTS_PER_MEMBER);
    const memberPlans: MemberPlan[] = Array.from({ length: memberCount }, (_, i) => ({
      id: i + 1,
      peerPort: ports[i * PORTS_PER_MEMBER] as number,
      httpPort: ports[i * PORTS_PER_MEMBER + 1] as number,
      memcachedPort: ports[i * PORTS_PER_MEMBER + 2] as number,
      clientPort: ports[i * PORTS_PER_MEMBER + 3] as number,
      dataDir: join(root, `kvraft-${i + 1}`),
    }));
    const security = securityDir === undefined ? undefined : localSecurityFiles(securityDir);
    const plan: LocalPlan = {
      clusterDir: root, clusterId: newClusterId(), basePort: 0, coordinatorPort: 0, members: memberPlans,
      ...(security === undefined ? {} : { security }),
    };
    let credentials: LoadCredentials | undefined;
    if (security !== undefined) {
      await prepareLocalSecurity(security, { clusterId: plan.clusterId, memberIds: memberPlans.map((m) => m.id) });
      credentials = { tls: { ca: await readFile(security.caFile, "utf8"), caSource: security.caFile }, token: (await readFile(security.readWriteTokenFile, "utf8")).trim() };
    }
    const access = await localAccess(plan);
    if (access === undefined) throw new Error(`kvraft bench cluster: could not read the CA or admin token just made under ${securityDir ?? root}`);
    // The members run as kvraft local and the image run them (member-node-flags.ts).
    const nodeArgs = (id: number): string[] => [...MEMBER_NODE_FLAGS,
      ...(profileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `kvraft-member-${id}-${Date.now()}.cpuprofile`])];
    const members = memberPlans.map((member) => new MemberProcess(`kvraft-${member.id}`, process.execPath,
      [...nodeArgs(member.id), CLI, ...withoutOption(serverArgs(plan, member, "new"), "--coord"), "--log-level", "warn"]));
    return new KvraftSystem(plan, members, credentials, access);
  }

  async start(): Promise<void> {
    for (const member of this.members) member.start();
    await this.waitUntilWritable();
  }

  async leaderIndex(): Promise<number | undefined> {
    const leader = await findLeader(this.plan);
    return leader === undefined ? undefined : leader.id - 1;
  }

  /** The leader's group-commit flushes (/metrics) and commit index (/v1/status). */
  async walCounters(): Promise<WalCounters | undefined> {
    const leader = await findLeader(this.plan);
    const member = this.plan.members.find((m) => m.id === leader?.id);
    if (member === undefined) return undefined;
    const base = memberHttpUrl(this.plan, member);
    const [metrics, status] = await Promise.all([
      httpCall(httpTarget(base, "/metrics", this.access.tls), { method: "GET", timeoutMs: STATUS_TIMEOUT_MS, tls: this.access.tls, token: this.access.token })
        .then((answer) => new TextDecoder().decode(answer.body)).catch(() => ""),
      memberStatus(base, this.access),
    ]);
    const flushes = /^kvraft_storage_flushes_total (\d+)/m.exec(metrics)?.[1];
    return flushes === undefined || status === undefined ? undefined : { flushes: Number(flushes), commitIndex: status.commitIndex };
  }

  connect(): Promise<BenchClient> {
    return Promise.resolve(this.client(this.plan.members.map((m) => `${LOCAL_HOST}:${m.clientPort}`), false));
  }

  /** Only a follower's address, with forwarding asked for: every request crosses the follower to the leader. */
  async connectThroughFollower(): Promise<BenchClient> {
    const leader = await this.leaderIndex();
    const follower = this.plan.members.find((_, index) => index !== leader);
    if (leader === undefined || follower === undefined) throw new Error("no KVRaft leader to forward to: cannot measure writes through a follower");
    return this.client([`${LOCAL_HOST}:${follower.clientPort}`], true);
  }

  private client(endpoints: readonly string[], forward: boolean): BenchClient {
    return new KvraftClient(createClient({
      endpoints: [...endpoints], clientName: "kvraft-bench", forward,
      ...(this.credentials === undefined ? {} : { tls: this.credentials.tls, token: this.credentials.token }),
    }));
  }

  /** The client library follows leader changes by itself. */
  connectAny(): Promise<BenchClient> {
    return this.connect();
  }

  async restart(index: number): Promise<void> {
    this.members[index]?.start();
    await this.waitUntilWritable();
    await pollUntil("every KVRaft member to follow one leader and catch up", async () => {
      const views = await Promise.all(this.plan.members.map(async (m) => {
        const status = await memberStatus(memberHttpUrl(this.plan, m), this.access);
        return status === undefined ? undefined : { leader: String(status.leaderId), commit: status.commitIndex, applied: status.appliedIndex };
      }));
      return caughtUp(views) ? true : undefined;
    }, CATCH_UP_TIMEOUT_MS, 100);
  }

  async memorySplit(): Promise<MemorySplit | undefined> {
    const splits = await Promise.all(this.plan.members.map(async (member) => {
      const answer = await httpCall(httpTarget(memberHttpUrl(this.plan, member), "/metrics", this.access.tls), { method: "GET", timeoutMs: STATUS_TIMEOUT_MS, tls: this.access.tls, token: this.access.token }).catch(() => undefined);
      const text = answer === undefined ? "" : new TextDecoder().decode(answer.body);
      const heap = /^kvraft_server_nodejs_heap_size_used_bytes (\d+)/m.exec(text)?.[1];
      const offHeap = /^kvraft_server_nodejs_external_memory_bytes (\d+)/m.exec(text)?.[1];
      return heap === undefined || offHeap === undefined ? undefined : { heapUsedBytes: Number(heap), offHeapBytes: Number(offHeap) };
    }));
    if (splits.some((s) => s === undefined)) return undefined;
    const present = splits as MemorySplit[];
    const mean = (pick: (s: MemorySplit) => number): number => present.reduce((sum, s) => sum + pick(s), 0) / present.length;
    return { heapUsedBytes: mean((s) => s.heapUsedBytes), offHeapBytes: mean((s) => s.offHeapBytes) };
  }

  async addLearner(): Promise<number> {
    if (this.plan.security !== undefined) throw new Error("kvraft bench cluster: the learner catch-up runs without --tls (a new member would need a certificate of its own)");
    const id = this.plan.members.length + this.added.length + 1;
    const ports = await freeLoopbackPorts(PORTS_PER_MEMBER);
    const member: MemberPlan = {
      id, peerPort: ports[0] as number, httpPort: ports[1] as number, memcachedPort: ports[2] as number, clientPort: ports[3] as number,
      dataDir: join(this.plan.clusterDir, `kvraft-${id}`),
    };
    const learner = new MemberProcess(`kvraft-${id}`, process.execPath,
      [...MEMBER_NODE_FLAGS, CLI, ...withoutOption(serverArgs({ ...this.plan, members: [...this.plan.members, member] }, member, "existing"), "--coord"), "--log-level", "warn"]);
    this.added.push(learner);
    const started = performance.now();
    learner.start();
    // A member must be reachable before it is added (it announces itself to the others as it starts).
    await pollUntil(`the new member ${id} to answer`, async () => ((await memberStatus(memberHttpUrl(this.plan, member), this.access)) === undefined ? undefined : true), READY_TIMEOUT_MS, PROMOTE_RETRY_MS);
    const admin = createClient({ endpoints: this.plan.members.map((m) => `${LOCAL_HOST}:${m.clientPort}`), clientName: "kvraft-bench-admin" });
    try {
      await admin.addLearner(id);
      await pollUntil(`member ${id} promoted from learner`, async () => {
        try {
          await admin.promote(id);
          return true;
        } catch (error) {
          if (error instanceof AdminError && error.code === "LEARNER_NOT_READY") return undefined;
          throw error;
        }
      }, LEARNER_PROMOTED_TIMEOUT_MS, PROMOTE_RETRY_MS);
      const promotedMs = Math.round(performance.now() - started);
      await admin.removeMember(id);
      await learner.stop("SIGTERM");
      return promotedMs;
    } finally {
      await admin.close();
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.members, ...this.added].map((m) => m.stop("SIGTERM")));
  }

  async clear(): Promise<void> {
    await this.stop();
    await Promise.all(this.plan.members.map((member) => rm(member.dataDir, { recursive: true, force: true })));
  }

  private async waitUntilWritable(): Promise<void> {
    const client = await this.connect();
    try {
      await pollUntil("a KVRaft leader that takes writes", async () => {
        if (this.members.every((m) => !m.running())) throw new Error(`every member exited:\n${this.members.map((m) => m.recentLog()).join("\n")}`);
        await client.put("bench/ready", new Uint8Array(1));
        return true;
      }, READY_TIMEOUT_MS, 100);
    } finally {
      await client.close();
    }
  }
}

interface LoadCredentials {
  readonly tls: ClientTlsOptions;
  readonly token: string;
}

class KvraftClient implements BenchClient {
  constructor(private readonly client: KvClient) {}

  async put(key: string, value: Uint8Array): Promise<void> {
    await this.client.put(key, value);
  }

  async get(key: string): Promise<void> {
    await this.client.get(key);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** The arguments without `--name value`. */
function withoutOption(args: readonly string[], name: string): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) i++;
    else kept.push(args[i] as string);
  }
  return kept;
}
