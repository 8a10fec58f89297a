/**
 * The lock that keeps two servers off one data dir. Node has no flock, so the lock is a
 * file created exclusively (O_EXCL) holding the owner's pid, host and process start
 * time. A lock left by a dead process is stale and replaced: the pid is gone, or it now
 * names another process (a different start time), or it is our own pid (a container's
 * pid 1 restarting) without this process holding it.
 *
 * Residual race: two servers that find the same stale lock at the same instant may both
 * replace it; each re-reads the lock after writing it and only one sees its own content.
 */
import { readFileSync } from "node:fs";
import { open, readFile, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { DataDirLockedError } from "./errors.js";
import { errorCode } from "./file-io.js";
import { LOCK_FILE } from "./file-names.js";

interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** Field 22 of /proc/<pid>/stat: tells a reused pid apart. Absent off Linux. */
  readonly processStartTicks: string | undefined;
}

export interface DataDirLock {
  readonly file: string;
  release(): Promise<void>;
}

export interface LockAcquired {
  readonly lock: DataDirLock;
  /** Set when a stale lock of a dead process was replaced. */
  readonly staleHolder: { readonly pid: number; readonly host: string } | undefined;
}

/** Data dirs locked by this process: a second open in the same process is refused too. */
const heldByThisProcess = new Set<string>();
const ACQUIRE_ATTEMPTS_MAX = 3;

function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: split after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === "EPERM";
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid !== "number" || typeof value.host !== "string") return undefined;
    return { pid: value.pid, host: value.host, processStartTicks: value.processStartTicks };
  } catch {
    return undefined;
  }
}

function isStale(holder: LockHolder | undefined, dirKey: string): boolean {
  // Unreadable content: the holder crashed between creating the file and writing it.
  if (holder === undefined) return true;
  // Another host's process cannot be checked from here; the error says how to clear it.
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return !heldByThisProcess.has(dirKey);
  if (!isAlive(holder.pid)) return true;
  const ticks = processStartTicks(holder.pid);
  return holder.processStartTicks !== undefined && ticks !== undefined && ticks !== holder.processStartTicks;
}

export async function acquireDataDirLock(dir: string): Promise<LockAcquired> {
  const dirKey = resolve(dir);
  const file = join(dir, LOCK_FILE);
  if (heldByThisProcess.has(dirKey)) throw new DataDirLockedError(file, process.pid, hostname());
  const mine: LockHolder = { pid: process.pid, host: hostname(), processStartTicks: processStartTicks(process.pid) };
  const content = JSON.stringify(mine);
  let staleHolder: LockAcquired["staleHolder"];
  for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS_MAX; attempt++) {
    try {
      const handle = await open(file, "wx");
      try {
        await handle.writeFile(content);
      } finally {
        await handle.close();
      }
      if ((await readFile(file, "utf8")) !== content) continue;
      heldByThisProcess.add(dirKey);
      return { lock: { file, release: () => release(file, dirKey) }, staleHolder };
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error;
    }
    const text = await readFile(file, "utf8").catch(() => "");
    const holder = parseHolder(text);
    if (!isStale(holder, dirKey)) {
      throw new DataDirLockedError(file, holder?.pid ?? -1, holder?.host ?? "unknown");
    }
    staleHolder = { pid: holder?.pid ?? -1, host: holder?.host ?? "unknown" };
    await unlink(file).catch(() => undefined);
  }
  const holder = parseHolder(await readFile(file, "utf8").catch(() => ""));
  throw new DataDirLockedError(file, holder?.pid ?? -1, holder?.host ?? "unknown");
}

async function release(file: string, dirKey: string): Promise<void> {
  if (!heldByThisProcess.delete(dirKey)) return;
  await unlink(file).catch((error: unknown) => {
    if (errorCode(error) !== "ENOENT") throw error;
  });
}
