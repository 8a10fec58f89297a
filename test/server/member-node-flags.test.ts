import { describe, expect, it } from "vitest";
import { MEMBER_NODE_FLAGS, withMemberNodeFlags } from "../../src/server/member-node-flags.js";

describe("a member's V8 flags on a re-exec (heap-limit.ts)", () => {
  it("adds each flag the process was not started with, and keeps one it was started with as given", () => {
    expect(withMemberNodeFlags([])).toEqual([...MEMBER_NODE_FLAGS]);
    expect(withMemberNodeFlags(["--enable-source-maps"])).toEqual(["--enable-source-maps", ...MEMBER_NODE_FLAGS]);
    // A user's own value wins: the flag is not given twice.
    expect(withMemberNodeFlags(["--initial-old-space-size=256"])).toEqual(["--initial-old-space-size=256"]);
    expect(withMemberNodeFlags([...MEMBER_NODE_FLAGS])).toEqual([...MEMBER_NODE_FLAGS]);
  });

  it("names only flags this Node accepts on its command line", async () => {
    const { execFileSync } = await import("node:child_process");
    // Node refuses an unknown V8 flag at start ("bad option"): a typo here would stop every member.
    expect(execFileSync(process.execPath, [...MEMBER_NODE_FLAGS, "-e", "process.stdout.write('ok')"], { encoding: "utf8" })).toBe("ok");
  });
});
