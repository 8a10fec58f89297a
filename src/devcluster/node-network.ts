import { randomBytes } from "node:crypto";
import { mkdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run, runQuietly } from "./shell.js";
import { SERVICE_CIDR } from "./components.js";

/**
 * The dev cluster's network, all of it on this machine:
 *
 *   root namespace: bridge kvdc<tag>b at BASE.1 (the apiserver, CoreDNS and the user's tools)
 *     ├─ veth ─ node 1's namespace: eth0 BASE.11, pods on its own bridge in 10.244.1.0/24
 *     ├─ veth ─ node 2's namespace: eth0 BASE.12, pods in 10.244.2.0/24
 *     └─ ...
 *
 * Each node namespace routes the other nodes' pod ranges straight to them over the bridge
 * and forwards for its pods. The root namespace never forwards (ip_forward stays as it
 * was, 0 here), so nothing a pod sends can leave the machine through its real interface:
 * the root namespace only reaches nodes and pods, and is reached by them. Service
 * addresses from the root namespace go through node 1, whose kube-proxy masquerades
 * (masqueradeAll), so replies come back the same way. Blackhole routes hold the pod and
 * service ranges, so an address of them that no node has is dropped here, never sent to
 * the default gateway.
 *
 * Every name carries the tag; the bridge's alias names the owning process, so a sweeper
 * can delete what a crashed run left.
 */
export const NETWORK_PREFIX = "kvdc";
/** The pod range of node i (1-based) is 10.244.i.0/24 (components.ts: POD_CIDR). */
export const POD_RANGE_PREFIX = "10.244";
const POD_SUPERNET = `${POD_RANGE_PREFIX}.0.0/16`;
/** Blackholes lose to any more specific route; a high metric keeps them behind same-prefix ones. */
const BLACKHOLE_METRIC = 4000;
/** Per-namespace files `ip netns exec` bind-mounts over /etc. */
const NETNS_ETC = "/etc/netns";
/** Nodes are numbered 1..NODES_MAX: their addresses are BASE.(10+i), their pod ranges 10.244.i.0/24. */
export const NODES_MAX = 9;

export class NodeNetwork {
  private readonly created: string[] = [];

  private constructor(readonly tag: string, readonly base: string, readonly nodes: number) {}

  /** Builds the bridge, one namespace per node, and the routes. Undone by `destroy`, even half-built. */
  static async create(nodes: number, tag: string = randomBytes(3).toString("hex").slice(0, 5)): Promise<NodeNetwork> {
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > NODES_MAX) throw new RangeError(`nodes must be 1..${NODES_MAX}, got ${nodes}`);
    const network = new NodeNetwork(tag, await pickBase(), nodes);
    try {
      await network.build();
    } catch (error) {
      await network.destroy();
      throw error;
    }
    return network;
  }

  get bridge(): string {
    return `${NETWORK_PREFIX}${this.tag}b`;
  }

  /** The root namespace's address on the bridge: the apiserver and CoreDNS listen here. */
  get hostAddress(): string {
    return `${this.base}.1`;
  }

  nodeAddress(node: number): string {
    return `${this.base}.${10 + node}`;
  }

  namespace(node: number): string {
    return `${NETWORK_PREFIX}-${this.tag}-n${node}`;
  }

  podRange(node: number): string {
    return `${POD_RANGE_PREFIX}.${node}.0/24`;
  }

  private async build(): Promise<void> {
    await run("ip", ["link", "add", this.bridge, "type", "bridge"]);
    this.created.push(`link:${this.bridge}`);
    await run("ip", ["link", "set", this.bridge, "alias", `${NETWORK_PREFIX} pid=${process.pid}`]);
    await run("ip", ["addr", "add", `${this.hostAddress}/24`, "dev", this.bridge]);
    await run("ip", ["link", "set", this.bridge, "up"]);
    for (let node = 1; node <= this.nodes; node++) await this.addNode(node);
    for (const range of [POD_SUPERNET, SERVICE_CIDR]) {
      await run("ip", ["route", "add", "blackhole", range, "metric", String(BLACKHOLE_METRIC)]);
      this.created.push(`route:blackhole ${range} metric ${BLACKHOLE_METRIC}`);
    }
    for (let node = 1; node <= this.nodes; node++) {
      await this.addRoute(this.podRange(node), this.nodeAddress(node));
      for (let other = 1; other <= this.nodes; other++) {
        if (other !== node) await run("ip", ["-n", this.namespace(node), "route", "add", this.podRange(other), "via", this.nodeAddress(other)]);
      }
    }
    await this.addRoute(SERVICE_CIDR, this.nodeAddress(1));
  }

  private async addRoute(range: string, via: string): Promise<void> {
    await run("ip", ["route", "add", range, "via", via]);
    this.created.push(`route:${range} via ${via}`);
  }

  private async addNode(node: number): Promise<void> {
    const ns = this.namespace(node);
    const hostSide = `${NETWORK_PREFIX}${this.tag}h${node}`;
    await run("ip", ["netns", "add", ns]);
    this.created.push(`netns:${ns}`);
    await run("ip", ["link", "add", hostSide, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    // Deleted with its namespace too, but only when the kernel gets round to freeing it:
    // deleted explicitly, it is gone when teardown returns.
    this.created.push(`link:${hostSide}`);
    await run("ip", ["link", "set", hostSide, "master", this.bridge, "up"]);
    await run("ip", ["-n", ns, "addr", "add", `${this.nodeAddress(node)}/24`, "dev", "eth0"]);
    await run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
    await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    await run("ip", ["-n", ns, "route", "add", "default", "via", this.hostAddress]);
    // `ip netns exec` shows a program this file as /etc/resolv.conf: tools run "on a node"
    // resolve cluster names through CoreDNS, as a pod would.
    mkdirSync(join(NETNS_ETC, ns), { recursive: true });
    this.created.push(`etc:${join(NETNS_ETC, ns)}`);
    writeFileSync(join(NETNS_ETC, ns, "resolv.conf"), `nameserver ${this.hostAddress}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`);
    // A node forwards for its pods; these settings belong to its namespace, not the machine.
    await run("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.accept_redirects=0"]);
  }

  /** Deletes what was made, last first; reports what failed (clean-up goes on past a failure). */
  async destroy(): Promise<string[]> {
    const problems: string[] = [];
    for (const item of this.created.reverse()) await undo(item, problems);
    this.created.length = 0;
    return problems;
  }
}

async function undo(item: string, problems: string[]): Promise<void> {
  const [kind, what] = [item.slice(0, item.indexOf(":")), item.slice(item.indexOf(":") + 1)];
  if (kind === "link") await runQuietly("ip", ["link", "del", what], problems);
  else if (kind === "netns") await deleteNamespace(what, problems);
  else if (kind === "etc") removeNetnsEtc(what);
  else if (kind === "route") await runQuietly("ip", ["route", "del", ...what.split(" ")], problems);
}

/** Removes a namespace's /etc files, and /etc/netns itself once no namespace has any. */
function removeNetnsEtc(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  try {
    rmdirSync(NETNS_ETC);
  } catch {
    // another namespace's files are there, or it is gone already
  }
}

/** Kills whatever still runs in a namespace, then deletes it (its links and iptables go with it). */
export async function deleteNamespace(ns: string, problems: string[]): Promise<void> {
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

/**
 * Deletes the network of a dev cluster whose owner is gone: its namespaces and bridge
 * (found by tag) and the routes through them. Returns what failed.
 */
export async function sweepNetwork(tag: string): Promise<string[]> {
  const problems: string[] = [];
  const namespaces = (await run("ip", ["netns", "list"])).split("\n").map((line) => line.split(" ")[0] ?? "");
  for (const ns of namespaces) if (ns.startsWith(`${NETWORK_PREFIX}-${tag}-`)) await deleteNamespace(ns, problems);
  for (let node = 1; node <= NODES_MAX; node++) removeNetnsEtc(join(NETNS_ETC, `${NETWORK_PREFIX}-${tag}-n${node}`));
  const links = JSON.parse(await run("ip", ["-j", "link", "show"])) as { ifname: string }[];
  // The bridge and the nodes' veth ends (a veth outlives its namespace until the kernel frees
  // it). Routes via the bridge's addresses go with it; the blackholes are the only ones left.
  for (const link of links.filter((l) => l.ifname.startsWith(`${NETWORK_PREFIX}${tag}`))) {
    await run("ip", ["link", "del", link.ifname]).catch((error: Error) => {
      if (!/Cannot find device/.test(error.message)) problems.push(error.message); // freed meanwhile: fine
    });
  }
  const others = links.filter((link) => link.ifname.startsWith(NETWORK_PREFIX) && link.ifname.endsWith("b") && !link.ifname.startsWith(`${NETWORK_PREFIX}${tag}`));
  if (others.length === 0) {
    for (const range of [POD_SUPERNET, SERVICE_CIDR]) {
      await run("ip", ["route", "del", "blackhole", range, "metric", String(BLACKHOLE_METRIC)]).catch(() => undefined);
    }
  }
  return problems;
}

/** A /24 under 10.250.0.0/15 that no interface or route here uses yet (the fault tests use 10.200-249). */
async function pickBase(): Promise<string> {
  const used = await run("ip", ["-4", "route", "show", "table", "all"]) + await run("ip", ["-4", "addr", "show"]);
  if (used.includes(`blackhole ${POD_SUPERNET}`)) {
    throw new Error(`another dev cluster's routes hold ${POD_SUPERNET} on this machine: stop it first (kvraft dev-cluster down), ` +
      "or if its owner is gone, `kvraft dev-cluster down` sweeps what it left");
  }
  for (let attempt = 0; attempt < 200; attempt++) {
    const bytes = randomBytes(2);
    const base = `10.${250 + ((bytes[0] ?? 0) % 2)}.${bytes[1] ?? 0}`;
    if (!used.includes(`${base}.`)) return base;
  }
  throw new Error("no free 10.250.x.0/24 subnet for the dev cluster's network: delete stale kvdc* links (ip link) and try again");
}
