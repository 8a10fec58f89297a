import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Each node's pods live under a cgroup of its own (the kubelet's cgroupRoot) in every
 * hierarchy, so three kubelets on one machine never see, or clean up, each other's pods;
 * and the dev cluster can end every process of a node and remove every cgroup it made.
 */
export const CGROUP_MOUNT = "/sys/fs/cgroup";

/** The mounted hierarchies (cgroup v1 here: cpu, memory, pids...; plus unified, v2's). */
export function hierarchies(): string[] {
  if (!existsSync(CGROUP_MOUNT)) return [];
  return readdirSync(CGROUP_MOUNT).filter((name) => {
    const path = join(CGROUP_MOUNT, name);
    return statSync(path).isDirectory() && existsSync(join(path, "cgroup.procs"));
  });
}

/**
 * Makes the cgroup in every hierarchy (the kubelet refuses a cgroupRoot that does not
 * exist). A new cpuset cgroup has no CPUs or memory nodes until told: copied from the root.
 */
export function createCgroupRoot(name: string): void {
  for (const hierarchy of hierarchies()) {
    const path = join(CGROUP_MOUNT, hierarchy, name);
    mkdirSync(path, { recursive: true });
    if (hierarchy === "cpuset") {
      for (const file of ["cpuset.cpus", "cpuset.mems"]) {
        writeFileSync(join(path, file), readFileSync(join(CGROUP_MOUNT, hierarchy, file), "utf8").trim());
      }
    }
  }
}

/** Every process in the cgroup or below it, in any hierarchy. */
export function processesUnder(name: string): number[] {
  const pids = new Set<number>();
  for (const hierarchy of hierarchies()) {
    const walk = (path: string): void => {
      if (!existsSync(path)) return;
      for (const line of readFileSync(join(path, "cgroup.procs"), "utf8").split("\n")) if (line !== "") pids.add(Number(line));
      for (const entry of readdirSync(path, { withFileTypes: true })) if (entry.isDirectory()) walk(join(path, entry.name));
    };
    walk(join(CGROUP_MOUNT, hierarchy, name));
  }
  return [...pids];
}

/** SIGKILLs every process under the cgroup: a node's containers, after its kubelet stopped. */
export function killProcessesUnder(name: string): number {
  const pids = processesUnder(name);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
  return pids.length;
}

/**
 * Removes the cgroup and everything below it, deepest first, in every hierarchy. A cgroup
 * that still holds a process (just killed, not yet reaped) refuses: reported, not thrown.
 */
export function removeCgroupRoot(name: string, problems: string[]): void {
  for (const hierarchy of hierarchies()) {
    const remove = (path: string): void => {
      if (!existsSync(path)) return;
      for (const entry of readdirSync(path, { withFileTypes: true })) if (entry.isDirectory()) remove(join(path, entry.name));
      try {
        rmdirSync(path);
      } catch (error) {
        problems.push(`could not remove cgroup ${path}: ${(error as Error).message}`);
      }
    };
    remove(join(CGROUP_MOUNT, hierarchy, name));
  }
}

/** Names of cgroups at the top of any hierarchy that start with the prefix (a crashed run's). */
export function cgroupRootsWithPrefix(prefix: string): string[] {
  const names = new Set<string>();
  for (const hierarchy of hierarchies()) {
    for (const entry of readdirSync(join(CGROUP_MOUNT, hierarchy), { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name.startsWith(prefix)) names.add(entry.name);
    }
  }
  return [...names];
}
