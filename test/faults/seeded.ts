import type { RandomSource } from "../../src/raft/random.js";

/** Shuffles `items` in place (Fisher-Yates) from the seeded source; returns it. */
export function shuffle<T>(items: T[], random: RandomSource): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
