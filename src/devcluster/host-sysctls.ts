import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Machine-wide kernel settings a kubelet rewrites at start (it "protects kernel defaults"
 * by setting them: kernel.panic 1 -> 10, kernel.panic_on_oops 0 -> 1, vm.overcommit_memory
 * 0 -> 1, and the key quotas). They are not per network namespace, so the dev cluster
 * records them before the first kubelet starts and writes them back after the last stops,
 * or, after a crash, the sweeper does from the record.
 */
export const KUBELET_SYSCTLS = [
  "kernel/panic", "kernel/panic_on_oops", "vm/overcommit_memory", "vm/panic_on_oom",
  "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
] as const;

const PROC_SYS = "/proc/sys";

export type SysctlValues = Readonly<Record<string, string>>;

export function readSysctls(names: readonly string[] = KUBELET_SYSCTLS): SysctlValues {
  const values: Record<string, string> = {};
  for (const name of names) {
    const path = join(PROC_SYS, name);
    if (existsSync(path)) values[name] = readFileSync(path, "utf8").trim();
  }
  return values;
}

/** Writes back what was recorded; returns the ones that could not be written. */
export function restoreSysctls(values: SysctlValues, problems: string[]): void {
  for (const [name, value] of Object.entries(values)) {
    try {
      if (readFileSync(join(PROC_SYS, name), "utf8").trim() !== value) writeFileSync(join(PROC_SYS, name), value);
    } catch (error) {
      problems.push(`could not restore ${name.replaceAll("/", ".")}=${value}: ${(error as Error).message}`);
    }
  }
}
