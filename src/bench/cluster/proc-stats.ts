import { readFile } from "node:fs/promises";

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ: 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) a process has used so far, from /proc/PID/stat; threads
 * included. Undefined when the process is gone (or not on Linux): the caller reports the
 * figure as missing rather than as zero.
 */
export async function processCpuSeconds(pid: number): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after it.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // Fields from 3 on: utime is field 14 and stime field 15, so indexes 11 and 12 here.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/** Resident memory of a process in bytes (VmRSS in /proc/PID/status), undefined when gone. */
export async function processRssBytes(pid: number): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  return match === null ? undefined : Number(match[1]) * 1024;
}

/** The summed CPU seconds of several processes; undefined if any is unreadable. */
export async function totalCpuSeconds(pids: readonly number[]): Promise<number | undefined> {
  const each = await Promise.all(pids.map(processCpuSeconds));
  let sum = 0;
  for (const value of each) {
    if (value === undefined) return undefined;
    sum += value;
  }
  return sum;
}
