import type { SeededRandom } from "../../raft/random.js";

const FSYNC_MS_MIN = 0.2;
const FSYNC_MS_JITTER = 1.5;
const FSYNC_STALL_MS_MIN = 5;
const FSYNC_STALL_MS_JITTER = 40;

/** How long one disk write takes: most a fraction of a millisecond; a few stall, as real disks do. */
export function fsyncDelayMs(random: SeededRandom, diskStallRate: number): number {
  if (random.next() < diskStallRate) return FSYNC_STALL_MS_MIN + random.next() * FSYNC_STALL_MS_JITTER;
  return FSYNC_MS_MIN + random.next() * FSYNC_MS_JITTER;
}
