import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// The relay forks its members from compiled JavaScript: `npm test` builds dist/ before
// vitest runs. Loaded by URL so that type checking does not need dist/.
type BareRelay = typeof import("../../src/bench/cluster/bare-relay.js");
const { measureBareRelay } = (await import(new URL("../../dist/bench/cluster/bare-relay.js", import.meta.url).href)) as BareRelay;

function relayMembersRunning(): string[] {
  try {
    return execFileSync("pgrep", ["-f", "bare-relay-member"], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe("the bare relay: put-1's floor measured on this machine", () => {
  it("relays records through three real processes, then stops them and removes their files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kvraft-bare-relay-test-"));
    try {
      const figures = await measureBareRelay(dir, 200);
      expect(figures.writes).toBe(200);
      expect(figures.p50Ms).toBeGreaterThan(0);
      expect(await readdir(dir)).toEqual([]);
      expect(relayMembersRunning()).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
