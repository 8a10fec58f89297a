/**
 * What a dev cluster may leave on the machine, looked for the way a person would: its
 * processes, network namespaces, links, cgroups, mounts, iptables chains in the root
 * namespace, and the kernel settings the kubelet changes.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { KUBELET_SYSCTLS, readSysctls, type SysctlValues } from "../../src/devcluster/host-sysctls.js";
import { cgroupRootsWithPrefix } from "../../src/devcluster/node-cgroups.js";
import { NETWORK_PREFIX } from "../../src/devcluster/node-network.js";

export interface Leftovers {
  readonly processes: string[];
  readonly namespaces: string[];
  readonly links: string[];
  readonly cgroups: string[];
  readonly mounts: string[];
  readonly iptablesChains: string[];
  readonly changedSysctls: string[];
}

/** Everything of the dev cluster in `dir` with network tag `tag` still on the machine (all empty: nothing). */
export function leftovers(dir: string, tag: string, sysctlsBefore: SysctlValues): Leftovers {
  const processes = readdirSync("/proc").filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid).flatMap((p) => {
    try {
      const cmdline = readFileSync(`/proc/${p}/cmdline`, "utf8");
      return cmdline.includes(dir) ? [`${p}: ${cmdline.replaceAll("\0", " ").slice(0, 120)}`] : [];
    } catch {
      return [];
    }
  });
  const lines = (command: string, args: string[]): string[] => execFileSync(command, args, { encoding: "utf8" }).split("\n");
  const now = readSysctls(KUBELET_SYSCTLS);
  return {
    processes,
    namespaces: lines("ip", ["netns", "list"]).filter((l) => l.includes(`${NETWORK_PREFIX}-${tag}`)),
    links: lines("ip", ["-br", "link"]).filter((l) => l.includes(`${NETWORK_PREFIX}${tag}`)),
    cgroups: cgroupRootsWithPrefix(`${NETWORK_PREFIX}${tag}`),
    mounts: readFileSync("/proc/mounts", "utf8").split("\n").filter((l) => l.includes(dir)),
    iptablesChains: lines("iptables-save", []).filter((l) => /^:KUBE-|^:CNI-/.test(l)),
    changedSysctls: Object.keys(sysctlsBefore).filter((name) => now[name] !== sysctlsBefore[name]).map((name) => `${name}: ${sysctlsBefore[name]} -> ${now[name]}`),
  };
}

export const NOTHING_LEFT: Leftovers = { processes: [], namespaces: [], links: [], cgroups: [], mounts: [], iptablesChains: [], changedSysctls: [] };
