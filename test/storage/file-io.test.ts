import { readFile } from "node:fs/promises";
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
});
