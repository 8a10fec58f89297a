import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** How long children get after SIGTERM from the watchdog before SIGKILL: a leader's transfer fits. */
export const WATCHDOG_GRACE_MS = 15_000;
export const WATCHDOG_POLL_MS = 200;

/** The one message `kvraft local` sends its watchdog: the children's current pids. */
export interface PidList {
  readonly pids: readonly number[];
}

export function isPidList(message: unknown): message is PidList {
  const pids = (message as { pids?: unknown } | null)?.pids;
  return Array.isArray(pids) && pids.every((pid) => Number.isSafeInteger(pid) && (pid as number) > 0);
}

const WATCHDOG_MAIN = fileURLToPath(new URL("./watchdog-main.js", import.meta.url));

export interface Watchdog {
  /** Tells the watchdog which processes to stop if `kvraft local` dies. */
  update(pids: readonly number[]): void;
  /** After a normal stop: nothing left to guard; the watchdog exits. */
  release(): void;
}

/**
 * Starts the watchdog (see watchdog-main.ts). It is detached and unref'd, so it never
 * keeps `kvraft local` alive and never gets the terminal's Ctrl-C; it lives exactly as
 * long as the IPC channel to `kvraft local`. If it cannot start, the cluster runs
 * without it and `onError` says so.
 */
export function startWatchdog(onError: (message: string) => void): Watchdog {
  let child: ChildProcess | undefined;
  try {
    child = spawn(process.execPath, [WATCHDOG_MAIN], { detached: true, stdio: ["ignore", "ignore", "ignore", "ipc"] });
    child.on("error", (error) => onError(`the watchdog could not start (${error.message}): if kvraft local is killed, stop its children by hand`));
    child.unref();
    child.channel?.unref();
  } catch (error) {
    onError(`the watchdog could not start (${(error as Error).message})`);
  }
  const send = (message: PidList, then?: () => void): void => {
    if (child?.connected !== true) return;
    child.send(message, (error: Error | null) => {
      if (error !== null) onError(`the watchdog did not take the pid list: ${error.message}`);
      then?.();
    });
  };
  return {
    update: (pids) => send({ pids: [...pids] }),
    // Disconnect only once the empty list is delivered: a watchdog that saw the channel
    // close with the old list would signal pids that are no longer ours.
    release: () => send({ pids: [] }, () => { if (child?.connected === true) child.disconnect(); }),
  };
}
