import { randomBytes } from "node:crypto";
import { run, runQuietly } from "./shell.js";

/** Every namespace and link these tests create starts with this, so leftovers can be found. */
const PREFIX = "kvft";
/** The iptables chain that holds a namespace's current faults; healing flushes it. */
const FAULT_CHAIN = "KVFT_FAULTS";

export interface Subnet {
  /** The first three octets, e.g. "10.213.7". */
  readonly base: string;
}

/**
 * A private network for one cluster: a bridge in the root namespace (the harness, its
 * clients and the coordinator live there, at .1) and one network namespace per server,
 * joined to the bridge by a veth pair, at .(10 + id). Faults are iptables rules in a
 * chain of each server's namespace and a tbf qdisc on its interface; this kernel has no
 * netem, so "delay" is a slow link (a token bucket whose queue adds latency), not a
 * fixed added delay. Every name carries the creating process's id so that a later run
 * can delete what a crashed one left (deleteLeftovers).
 */
export class NetnsNetwork {
  private readonly namespaces = new Map<number, string>();

  private constructor(readonly tag: string, readonly subnet: Subnet) {}

  static async create(serverIds: readonly number[]): Promise<NetnsNetwork> {
    await deleteLeftovers();
    const network = new NetnsNetwork(randomBytes(3).toString("hex").slice(0, 5), await pickSubnet());
    try {
      await network.build(serverIds);
    } catch (error) {
      await network.destroy();
      throw error;
    }
    return network;
  }

  get bridgeName(): string {
    return `${PREFIX}${this.tag}b`;
  }

  /** The harness's address on the bridge: clients and the coordinator use it. */
  get hostAddress(): string {
    return `${this.subnet.base}.1`;
  }

  address(id: number): string {
    return `${this.subnet.base}.${10 + id}`;
  }

  namespace(id: number): string {
    const ns = this.namespaces.get(id);
    if (ns === undefined) throw new Error(`invariant: server ${id} has no network namespace`);
    return ns;
  }

  private async build(serverIds: readonly number[]): Promise<void> {
    const alias = `${PREFIX} pid=${process.pid}`;
    await run("ip", ["link", "add", this.bridgeName, "type", "bridge"]);
    await run("ip", ["link", "set", this.bridgeName, "alias", alias]);
    await run("ip", ["addr", "add", `${this.hostAddress}/24`, "dev", this.bridgeName]);
    await run("ip", ["link", "set", this.bridgeName, "up"]);
    for (const id of serverIds) {
      const ns = `${PREFIX}-${process.pid}-${this.tag}-s${id}`;
      const hostSide = `${PREFIX}${this.tag}h${id}`;
      const nsSide = `${PREFIX}${this.tag}n${id}`;
      await run("ip", ["netns", "add", ns]);
      this.namespaces.set(id, ns);
      await run("ip", ["link", "add", hostSide, "type", "veth", "peer", "name", nsSide]);
      await run("ip", ["link", "set", hostSide, "alias", alias]);
      await run("ip", ["link", "set", hostSide, "master", this.bridgeName, "up"]);
      await run("ip", ["link", "set", nsSide, "netns", ns]);
      await run("ip", ["-n", ns, "link", "set", nsSide, "name", "eth0"]);
      await run("ip", ["-n", ns, "addr", "add", `${this.address(id)}/24`, "dev", "eth0"]);
      await run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
      await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
      await this.iptables(id, ["-N", FAULT_CHAIN]);
      await this.iptables(id, ["-A", "INPUT", "-j", FAULT_CHAIN]);
    }
  }

  private iptables(id: number, args: readonly string[]): Promise<string> {
    return run("ip", ["netns", "exec", this.namespace(id), "iptables", "-w", ...args]);
  }

  /** Server `to` stops hearing server `from` (packets from `from` are dropped on arrival). */
  async dropFrom(to: number, from: number): Promise<void> {
    await this.iptables(to, ["-A", FAULT_CHAIN, "-s", this.address(from), "-j", "DROP"]);
  }

  /** Cuts every link between the two groups, both ways. */
  async partition(a: readonly number[], b: readonly number[]): Promise<void> {
    for (const x of a) {
      for (const y of b) {
        await this.dropFrom(x, y);
        await this.dropFrom(y, x);
      }
    }
  }

  /** Drops this fraction of every packet arriving at the server, from peers and clients. */
  async loss(id: number, probability: number): Promise<void> {
    if (!(probability > 0 && probability < 1)) throw new RangeError(`loss probability must be in (0, 1), got ${probability}`);
    await this.iptables(id, ["-A", FAULT_CHAIN, "-m", "statistic", "--mode", "random", "--probability", probability.toFixed(3), "-j", "DROP"]);
  }

  /** A slow link out of the server: a small rate whose queue delays every packet behind it. */
  async slow(id: number, rateKbit: number): Promise<void> {
    await run("ip", ["netns", "exec", this.namespace(id), "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf",
      "rate", `${rateKbit}kbit`, "burst", "4kb", "latency", "500ms"]);
  }

  /** Removes every fault on every server. */
  async heal(): Promise<void> {
    for (const id of this.namespaces.keys()) {
      await this.iptables(id, ["-F", FAULT_CHAIN]);
      // Deleting the root qdisc restores the default; it fails when there is none to delete.
      await run("ip", ["netns", "exec", this.namespace(id), "tc", "qdisc", "del", "dev", "eth0", "root"]).catch(() => undefined);
    }
  }

  /** Kills whatever still runs in the namespaces, deletes them and the bridge; reports what failed. */
  async destroy(): Promise<string[]> {
    const problems: string[] = [];
    for (const ns of this.namespaces.values()) await deleteNamespace(ns, problems);
    this.namespaces.clear();
    await runQuietly("ip", ["link", "del", this.bridgeName], problems);
    return problems.filter((p) => !p.includes("Cannot find device"));
  }
}

async function deleteNamespace(ns: string, problems: string[]): Promise<void> {
  const pids = (await run("ip", ["netns", "pids", ns]).catch(() => "")).split(/\s+/).filter((p) => p !== "");
  for (const pid of pids) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // already gone
    }
  }
  await runQuietly("ip", ["netns", "del", ns], problems);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Deletes namespaces and links of earlier runs whose process is gone (a crash, a kill -9). */
export async function deleteLeftovers(): Promise<void> {
  const problems: string[] = [];
  const namespaces = (await run("ip", ["netns", "list"])).split("\n").map((line) => line.split(" ")[0] ?? "");
  for (const ns of namespaces) {
    const owner = new RegExp(`^${PREFIX}-(\\d+)-`).exec(ns);
    if (owner !== null && !processAlive(Number(owner[1]))) await deleteNamespace(ns, problems);
  }
  const links = JSON.parse(await run("ip", ["-j", "link", "show"])) as { ifname: string; ifalias?: string }[];
  for (const link of links) {
    const owner = new RegExp(`^${PREFIX} pid=(\\d+)$`).exec(link.ifalias ?? "");
    if (link.ifname.startsWith(PREFIX) && owner !== null && !processAlive(Number(owner[1]))) {
      await runQuietly("ip", ["link", "del", link.ifname.split("@")[0] ?? link.ifname], problems);
    }
  }
}

/** A /24 under 10.0.0.0/8 that no interface or route here uses yet. */
async function pickSubnet(): Promise<Subnet> {
  const used = await run("ip", ["-4", "route", "show", "table", "all"]) + await run("ip", ["-4", "addr", "show"]);
  for (let attempt = 0; attempt < 200; attempt++) {
    const bytes = randomBytes(2);
    const base = `10.${200 + ((bytes[0] ?? 0) % 50)}.${bytes[1] ?? 0}`;
    if (!used.includes(`${base}.`)) return { base };
  }
  throw new Error("no free 10.x.y.0/24 subnet found for the fault tests' network: delete stale kvft* links (ip link) and try again");
}
