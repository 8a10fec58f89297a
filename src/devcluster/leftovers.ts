import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { killIfRunsFrom, processAlive } from "./shell.js";

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
    if (record.host !== hostname() || processAlive(record.pid)) continue;
    // Only a pid that still runs from the rig's directory is killed: a reused pid never is.
    for (const pid of record.processes) killIfRunsFrom(pid, dir);
    rmSync(dir, { recursive: true, force: true });
    swept++;
  }
  return swept;
}
