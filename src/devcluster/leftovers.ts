import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A rig's directory records who owns it and which processes it started, so that a run
 * killed outright (SIGKILL, a crashed worker) does not leave an apiserver eating a core of a
 * 2-core CI machine: the next rig to start finds the directory, sees its owner is gone,
 * kills what is still running from it and deletes it.
 */
export const RIG_DIR_PREFIX = "kvraft-k8s-rig-";
const OWNER_FILE = "owner.json";

interface OwnerRecord {
  /** A pid means nothing on another machine or container sharing the same /tmp. */
  readonly host: string;
  readonly pid: number;
  readonly processes: readonly number[];
}

export function recordOwner(dir: string, processes: readonly number[], ownerPid = process.pid): void {
  const record: OwnerRecord = { host: hostname(), pid: ownerPid, processes };
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(record));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True only if the pid still runs a command that names the dir: a reused pid is never killed. */
function runsFrom(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir);
  } catch {
    return false;
  }
}

/** Cleans up after rigs whose owning process no longer exists. Returns how many were swept. */
export function sweepAbandonedRigs(root = tmpdir()): number {
  let swept = 0;
  for (const entry of readdirSync(root)) {
    if (!entry.startsWith(RIG_DIR_PREFIX)) continue;
    const dir = join(root, entry);
    let record: OwnerRecord;
    try {
      record = JSON.parse(readFileSync(join(dir, OWNER_FILE), "utf8")) as OwnerRecord;
    } catch {
      continue; // being created right now by a live rig, or not ours
    }
    if (record.host !== hostname() || isAlive(record.pid)) continue;
    for (const pid of record.processes) {
      if (runsFrom(pid, dir)) process.kill(pid, "SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
    swept++;
  }
  return swept;
}
