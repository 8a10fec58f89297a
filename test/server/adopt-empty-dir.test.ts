import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { existingClusterId } from "../../src/server/bootstrap.js";
import { adoptEmptyDataDir } from "../../src/server/adopt-empty-dir.js";
import { DiskStorage } from "../../src/storage/index.js";
import { hardState, makeEntries, withTempDir } from "../storage/helpers.js";

// A member that came back empty under the old cluster id, before a quorum-loss recovery
// gave the cluster a new one, starts again under the new id; a member with history never does.

async function joinerDir(dir: string, withEntries: boolean): Promise<void> {
  const storage = await DiskStorage.open(dir, { memberId: 2, clusterId: "old-cluster" });
  await storage.persist({ hardState: { ...hardState(3, 0), nonVoting: true } });
  if (withEntries) await storage.persist({ hardState: { ...hardState(3, 1), nonVoting: true }, entries: makeEntries(1, 1, 3) });
  await storage.close();
}

describe("a data dir that holds no history may start under another cluster id", () => {
  it("an empty joiner's dir is taken over: its storage files go, other files on the volume stay", async () => {
    await withTempDir(async (dir) => {
      await joinerDir(dir, false);
      await writeFile(join(dir, "lost+found"), "");
      expect(await adoptEmptyDataDir(dir, 2, "old-cluster")).toBe(true);
      expect(await existingClusterId(dir)).toBeUndefined();
      expect(await readdir(dir)).toEqual(["lost+found"]);
      const fresh = await DiskStorage.open(dir, { memberId: 2, clusterId: "new-cluster" });
      expect(fresh.lastIndex()).toBe(0);
      await fresh.close();
      expect(await existingClusterId(dir)).toBe("new-cluster");
    });
  });

  it("a dir with one entry of the old cluster is left as it is", async () => {
    await withTempDir(async (dir) => {
      await joinerDir(dir, true);
      const before = (await readdir(dir)).sort();
      expect(await adoptEmptyDataDir(dir, 2, "old-cluster")).toBe(false);
      expect((await readdir(dir)).sort()).toEqual(before);
      expect(await existingClusterId(dir)).toBe("old-cluster");
    });
  });
});
