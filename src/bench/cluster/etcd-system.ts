import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ClientTlsOptions } from "../../security/client-credentials.js";
import { httpCall, httpTarget } from "../../security/https-call.js";
import type { EtcdBinary } from "./etcd-binary.js";
import type { EtcdTlsFiles } from "./etcd-tls.js";
import { MemberProcess } from "./member-process.js";
import { freeLoopbackPorts } from "./ports.js";
import { type BenchClient, type BenchSystem, CATCH_UP_TIMEOUT_MS, caughtUp, LEARNER_PROMOTED_TIMEOUT_MS, pollUntil, PROMOTE_RETRY_MS } from "./system.js";

const READY_TIMEOUT_MS = 30_000;
const STATUS_TIMEOUT_MS = 1000;
/** One call may take this long before the client gives up on it (the load never gets near it). */
const CALL_DEADLINE_MS = 10_000;

/** The etcd3 package's client class, loaded on demand (a devDependency). */
type Etcd3Module = typeof import("etcd3");
type Etcd3 = InstanceType<Etcd3Module["Etcd3"]>;

interface EtcdMemberPlan {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
}

/** The client side of etcd's TLS: PEM bytes for grpc (the etcd3 package) and for the status calls. */
interface EtcdClientTls {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * etcd's side: three etcd members on loopback, each with its own data dir on the same
 * disk as KVRaft's, default fsync, heartbeat and election timeouts (100 ms and 1 s, as
 * KVRaft's), driven by the etcd3 package. Load clients connect to the leader, as
 * KVRaft's client does (a follower would forward every request to it). With TLS: its
 * own flags on both ports (--cert-file, --key-file, --trusted-ca-file,
 * --client-cert-auth and their --peer-* twins), clients authenticated by a certificate
 * of the same CA: etcd's cheapest way to know its clients (its users and roles would
 * add an auth check to every request; KVRaft checks the token once per connection).
 */
export class EtcdSystem implements BenchSystem {
  readonly name = "etcd" as const;
  readonly label: string;
  /** Members added by addLearner, stopped with the others. */
  private readonly added: MemberProcess[] = [];

  private constructor(
    private readonly etcd3: Etcd3Module,
    private readonly plans: readonly EtcdMemberPlan[],
    readonly members: readonly MemberProcess[],
    private readonly binary: EtcdBinary,
    private readonly tls: EtcdClientTls | undefined,
    /** Where the members' data dirs are. */
    private readonly dataRoot: string,
  ) {
    this.label = `etcd ${binary.version} (${binary.source === "go-module" ? "built from its Go module" : "Debian's etcd-server, a fallback"})`;
  }

  /** `tls`: TLS on the client and peer ports, with these files (see the class). */
  static async create(root: string, binary: EtcdBinary, memberCount: number, tls?: EtcdTlsFiles): Promise<EtcdSystem> {
    const etcd3 = await loadEtcd3();
    const ports = await freeLoopbackPorts(memberCount * 2);
    const scheme = tls === undefined ? "http" : "https";
    const plans: EtcdMemberPlan[] = Array.from({ length: memberCount }, (_, i) => ({
      name: `etcd-${i + 1}`,
      clientUrl: `${scheme}://127.0.0.1:${ports[i * 2] as number}`,
      peerUrl: `${scheme}://127.0.0.1:${ports[i * 2 + 1] as number}`,
      dataDir: join(root, `etcd-${i + 1}`),
    }));
    const initialCluster = plans.map((p) => `${p.name}=${p.peerUrl}`).join(",");
    const members = plans.map((p, i) => new MemberProcess(p.name, binary.path, [
      ...memberArgs(p, initialCluster), "--initial-cluster-state", "new",
      ...(tls === undefined ? [] : etcdTlsArgs(tls, i)),
    ]));
    const clientTls = tls === undefined ? undefined : {
      ca: await readFile(tls.caFile), cert: await readFile(tls.client.certFile), key: await readFile(tls.client.keyFile),
    };
    return new EtcdSystem(etcd3, plans, members, binary, clientTls, root);
  }

  async start(): Promise<void> {
    for (const member of this.members) member.start();
    await this.waitUntilWritable();
  }

  async leaderIndex(): Promise<number | undefined> {
    const statuses = await Promise.all(this.plans.map((p) => memberStatus(p.clientUrl, this.statusTls())));
    for (const [index, status] of statuses.entries()) {
      if (status !== undefined && status.leader === status.memberId) return index;
    }
    return undefined;
  }

  /** A client with its own gRPC connection to the leader. */
  async connect(): Promise<BenchClient> {
    const leader = await this.leaderIndex();
    const hosts = leader === undefined ? this.plans.map((p) => p.clientUrl) : [(this.plans[leader] as EtcdMemberPlan).clientUrl];
    return new EtcdClient(this.newEtcd3(hosts));
  }

  /** A client with a connection to one follower only: etcd's followers forward writes to the leader too. */
  async connectThroughFollower(): Promise<BenchClient> {
    const leader = await this.leaderIndex();
    const follower = this.plans.find((_, index) => index !== leader);
    if (leader === undefined || follower === undefined) throw new Error("no etcd leader to forward to: cannot measure writes through a follower");
    return new EtcdClient(this.newEtcd3([follower.clientUrl]));
  }

  /** A client that may use any member: for writes across a leader change. */
  connectAny(): Promise<BenchClient> {
    return Promise.resolve(new EtcdClient(this.newEtcd3(this.plans.map((p) => p.clientUrl))));
  }

  async restart(index: number): Promise<void> {
    this.members[index]?.start();
    await this.waitUntilWritable();
    await pollUntil("every etcd member to follow one leader and catch up", async () => {
      const views = await Promise.all(this.plans.map((p) => memberStatus(p.clientUrl, this.statusTls())));
      return caughtUp(views) ? true : undefined;
    }, CATCH_UP_TIMEOUT_MS, 100);
  }

  /** etcd's own way: `member add --learner`, start it with --initial-cluster-state existing, `member promote` until it is in sync. */
  async addLearner(): Promise<number> {
    if (this.tls !== undefined) throw new Error("kvraft bench cluster: the learner catch-up runs without --tls (a new member would need a certificate of its own)");
    const [clientPort, peerPort] = await freeLoopbackPorts(2);
    const name = `etcd-${this.plans.length + this.added.length + 1}`;
    const plan: EtcdMemberPlan = { name, clientUrl: `http://127.0.0.1:${clientPort as number}`, peerUrl: `http://127.0.0.1:${peerPort as number}`, dataDir: join(this.dataRoot, name) };
    const client = this.newEtcd3(this.plans.map((p) => p.clientUrl));
    try {
      const started = performance.now();
      // etcd refuses a member add ("unhealthy cluster") until every member has been connected for a while after a restart.
      const { member } = await pollUntil(`etcd to accept ${name} as a learner`, async () => {
        try {
          return await client.cluster.memberAdd({ peerURLs: [plan.peerUrl], isLearner: true });
        } catch (error) {
          if (/unhealthy cluster/i.test((error as Error).message)) return undefined;
          throw error;
        }
      }, CATCH_UP_TIMEOUT_MS, PROMOTE_RETRY_MS);
      const learner = new MemberProcess(name, this.binary.path, [
        ...memberArgs(plan, [...this.plans, plan].map((p) => `${p.name}=${p.peerUrl}`).join(",")), "--initial-cluster-state", "existing",
      ]);
      this.added.push(learner);
      learner.start();
      await pollUntil(`${name} promoted from learner`, async () => {
        try {
          await client.cluster.memberPromote({ ID: member.ID });
          return true;
        } catch (error) {
          // "can only promote a learner member which is in sync with leader", or not yet started.
          if (/in sync|not (started|ready)|unavailable|learner/i.test((error as Error).message)) return undefined;
          throw error;
        }
      }, LEARNER_PROMOTED_TIMEOUT_MS, PROMOTE_RETRY_MS);
      const promotedMs = Math.round(performance.now() - started);
      await client.cluster.memberRemove({ ID: member.ID });
      await learner.stop("SIGTERM");
      return promotedMs;
    } finally {
      client.close();
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.members, ...this.added].map((m) => m.stop("SIGTERM")));
  }

  async clear(): Promise<void> {
    await this.stop();
    await Promise.all(this.plans.map((plan) => rm(plan.dataDir, { recursive: true, force: true })));
  }

  private newEtcd3(hosts: string[]): Etcd3 {
    return new this.etcd3.Etcd3({
      hosts,
      // grpc-js shares connections between clients by default: each bench client gets its own, as each KVRaft client does.
      grpcOptions: { "grpc.use_local_subchannel_pool": 1 },
      ...(this.tls === undefined ? {} : { credentials: { rootCertificate: this.tls.ca, certChain: this.tls.cert, privateKey: this.tls.key } }),
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
    });
  }

  private statusTls(): ClientTlsOptions | undefined {
    return this.tls === undefined ? undefined : { ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key, caSource: "the bench's CA" };
  }

  private async waitUntilWritable(): Promise<void> {
    const client = await this.connectAny();
    try {
      await pollUntil("an etcd leader that takes writes", async () => {
        if (this.members.every((m) => !m.running())) throw new Error(`every member exited:\n${this.members.map((m) => m.recentLog()).join("\n")}`);
        if ((await this.leaderIndex()) === undefined) return undefined;
        await client.put("bench/ready", new Uint8Array(1));
        return true;
      }, READY_TIMEOUT_MS, 100);
    } finally {
      await client.close();
    }
  }
}

class EtcdClient implements BenchClient {
  constructor(private readonly client: Etcd3) {}

  async put(key: string, value: Uint8Array): Promise<void> {
    await this.client.put(key).value(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }

  async get(key: string): Promise<void> {
    // etcd's default read is linearizable (a ReadIndex round on the leader).
    await this.client.get(key).buffer();
  }

  close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }
}

interface EtcdMemberStatus {
  readonly memberId: string;
  readonly leader: string;
  readonly commit: number;
  readonly applied: number;
}

/** A member's name, data dir, URLs and the cluster it joins (its --initial-cluster-state is the caller's). */
function memberArgs(plan: EtcdMemberPlan, initialCluster: string): string[] {
  return [
    "--name", plan.name, "--data-dir", plan.dataDir,
    "--listen-client-urls", plan.clientUrl, "--advertise-client-urls", plan.clientUrl,
    "--listen-peer-urls", plan.peerUrl, "--initial-advertise-peer-urls", plan.peerUrl,
    "--initial-cluster", initialCluster, "--initial-cluster-token", "kvraft-bench",
    "--log-level", "warn",
  ];
}

/** Member `index`'s TLS flags: etcd's own, the client port asking for certificates and the peer port requiring them. */
function etcdTlsArgs(tls: EtcdTlsFiles, index: number): string[] {
  const member = tls.members[index];
  if (member === undefined) throw new Error(`etcd's TLS files have no certificate for member ${index + 1}`);
  return [
    "--cert-file", member.certFile, "--key-file", member.keyFile, "--trusted-ca-file", tls.caFile, "--client-cert-auth",
    "--peer-cert-file", member.certFile, "--peer-key-file", member.keyFile, "--peer-trusted-ca-file", tls.caFile, "--peer-client-cert-auth",
  ];
}

/** A member's id, who it thinks leads and its raft indexes, from etcd's JSON gateway (ids are 64-bit: kept as strings). */
async function memberStatus(clientUrl: string, tls: ClientTlsOptions | undefined): Promise<EtcdMemberStatus | undefined> {
  try {
    // node:https (httpCall), not fetch: fetch takes neither a CA nor a client certificate.
    const answer = await httpCall(httpTarget(clientUrl, "/v3/maintenance/status", tls), { method: "POST", body: new TextEncoder().encode("{}"), timeoutMs: STATUS_TIMEOUT_MS, tls });
    if (answer.status !== 200) return undefined;
    const body = JSON.parse(new TextDecoder().decode(answer.body)) as { header?: { member_id?: string }; leader?: string; raftIndex?: string; raftAppliedIndex?: string };
    const memberId = body.header?.member_id;
    if (memberId === undefined || body.leader === undefined) return undefined;
    return { memberId, leader: body.leader, commit: Number(body.raftIndex ?? 0), applied: Number(body.raftAppliedIndex ?? 0) };
  } catch {
    return undefined;
  }
}

async function loadEtcd3(): Promise<Etcd3Module> {
  try {
    return await import("etcd3");
  } catch (error) {
    throw new Error(`kvraft bench cluster needs the etcd3 package (a devDependency) to drive etcd: run it from a clone after npm ci (${(error as Error).message})`);
  }
}
