import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nodeFileIo } from "../../src/storage/index.js";
import { withTempDir } from "./helpers.js";

describe("nodeFileIo: durable writes in one call", () => {
  it("writeDurably and write land at their positions in the same file, and close releases both descriptors", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "f");
      const file = await nodeFileIo.open(path, "create");
      await file.write(Buffer.alloc(8, 0x2e), 0);
      await file.writeDurably(Buffer.from("abc"), 2);
      await file.writeDurably(Buffer.from("Z"), 7);
      await file.write(Buffer.from("q"), 0);
      await file.close();
      expect((await readFile(path)).toString()).toBe("q.abc..Z");
      const again = await nodeFileIo.open(path, "existing");
      await again.writeDurably(Buffer.from("xyz"), 8);
      await again.close();
      expect((await readFile(path)).toString()).toBe("q.abc..Zxyz");
    });
  });

  it("first durable writes that race share one descriptor: after close none is left open", async () => {
    await withTempDir(async (dir) => {
      const openBefore = (await readdir("/proc/self/fd")).length;
      const file = await nodeFileIo.open(join(dir, "f"), "create");
      await Promise.all([file.writeDurably(Buffer.from("ab"), 0), file.writeDurably(Buffer.from("cd"), 2)]);
      await file.close();
      expect((await readFile(join(dir, "f"))).toString()).toBe("abcd");
      expect((await readdir("/proc/self/fd")).length).toBe(openBefore);
    });
  });
});
