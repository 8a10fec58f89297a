/**
 * The watchdog program (`node dist/local/watchdog-main.js`), started by `kvraft local`
 * with an IPC channel. `kvraft local` sends it the pids of its children whenever they
 * change. If `kvraft local` dies without stopping them (SIGKILL, a crash), the channel
 * closes and the watchdog sends the children SIGTERM (each member shuts down cleanly),
 * then SIGKILL to any still running after a grace period. Without it, children killed
 * with their parent would keep running and hold the ports, in their own process groups.
 * On a normal stop the list is empty by the time the channel closes, and it just exits.
 */
import { isPidList, WATCHDOG_GRACE_MS, WATCHDOG_POLL_MS } from "./watchdog.js";

let pids: readonly number[] = [];

process.on("message", (message: unknown) => {
  if (isPidList(message)) pids = message.pids;
});

process.once("disconnect", () => {
  void stopAll(pids).then(() => process.exit(0));
});

async function stopAll(targets: readonly number[]): Promise<void> {
  for (const pid of targets) signal(pid, "SIGTERM");
  const deadline = Date.now() + WATCHDOG_GRACE_MS;
  while (targets.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, WATCHDOG_POLL_MS));
  for (const pid of targets.filter(alive)) signal(pid, "SIGKILL");
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
