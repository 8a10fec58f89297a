import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type KvClient } from "../../client/index.js";
import { newClusterId } from "../../local/cluster-file.js";
import { findLeader, memberStatus } from "../../local/leader.js";
import { LOCAL_HOST, type LocalPlan, type MemberPlan, serverArgs } from "../../local/plan.js";
import { VERSION } from "../../version.js";
import type { WalCounters, WalCounterSource } from "./measure.js";
import { MemberProcess } from "./member-process.js";
import { freeLoopbackPorts } from "./ports.js";
import { type BenchClient, type BenchSystem, CATCH_UP_TIMEOUT_MS, caughtUp, pollUntil } from "./system.js";

const MEMBERS = 3;
const PORTS_PER_MEMBER = 4;
/** From start to a leader that takes writes: a few election timeouts, on a loaded machine. */
const READY_TIMEOUT_MS = 30_000;
const STATUS_TIMEOUT_MS = 2000;
/** The program the members run: dist/cli.js beside this module. */
const CLI = fileURLToPath(new URL("../../cli.js", import.meta.url));

/**
 * KVRaft's side: three `kvraft server` processes with the same command line as
 * `kvraft local` gives them (src/local/plan.ts), minus the coordinator (discovery only,
 * and its heartbeats would cost CPU the etcd side does not pay), at warn level.
 */
export class KvraftSystem implements BenchSystem, WalCounterSource {
  readonly name = "kvraft" as const;
  readonly label = `KVRaft ${VERSION}`;

  private constructor(
    readonly plan: LocalPlan,
    readonly members: readonly MemberProcess[],
  ) {}

  /** `profileDir`: the members run under `node --cpu-prof` and write their profiles there when they stop. */
  static async create(root: string, profileDir?: string): Promise<KvraftSystem> {
    const ports = await freeLoopbackPorts(MEMBERS * PORTS_PER_MEMBER);
    const memberPlans: MemberPlan[] = Array.from({ length: MEMBERS }, (_, i) => ({
      id: i + 1,
      peerPort: ports[i * PORTS_PER_MEMBER] as number,
      httpPort: ports[i * PORTS_PER_MEMBER + 1] as number,
      memcachedPort: ports[i * PORTS_PER_MEMBER + 2] as number,
      clientPort: ports[i * PORTS_PER_MEMBER + 3] as number,
      dataDir: join(root, `kvraft-${i + 1}`),
    }));
    const plan: LocalPlan = { clusterDir: root, clusterId: newClusterId(), basePort: 0, coordinatorPort: 0, members: memberPlans };
    const nodeArgs = (id: number): string[] =>
      (profileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `kvraft-member-${id}-${Date.now()}.cpuprofile`]);
    const members = memberPlans.map((member) => new MemberProcess(`kvraft-${member.id}`, process.execPath,
      [...nodeArgs(member.id), CLI, ...withoutOption(serverArgs(plan, member, "new"), "--coord"), "--log-level", "warn"]));
    return new KvraftSystem(plan, members);
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
    const base = `http://${LOCAL_HOST}:${member.httpPort}`;
    const [metrics, status] = await Promise.all([
      fetch(`${base}/metrics`, { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) }).then((r) => r.text()).catch(() => ""),
      memberStatus(base),
    ]);
    const flushes = /^kvraft_storage_flushes_total (\d+)/m.exec(metrics)?.[1];
    return flushes === undefined || status === undefined ? undefined : { flushes: Number(flushes), commitIndex: status.commitIndex };
  }

  connect(): Promise<BenchClient> {
    return Promise.resolve(new KvraftClient(createClient({
      endpoints: this.plan.members.map((m) => `${LOCAL_HOST}:${m.clientPort}`),
      clientName: "kvraft-bench",
    })));
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
        const status = await memberStatus(`http://${LOCAL_HOST}:${m.httpPort}`);
        return status === undefined ? undefined : { leader: String(status.leaderId), commit: status.commitIndex, applied: status.appliedIndex };
      }));
      return caughtUp(views) ? true : undefined;
    }, CATCH_UP_TIMEOUT_MS, 100);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop("SIGTERM")));
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
