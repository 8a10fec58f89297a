import { crc32c } from "@node-rs/crc32";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BODY_FORMAT_KV_SNAPSHOT, encodeBackup } from "../../src/backup/index.js";
import { runKvraft } from "../support/cli-run.js";

/** A small, sound backup file's bytes. */
async function backupBytes(): Promise<Buffer> {
  async function* body(): AsyncGenerator<Uint8Array> {
    yield Uint8Array.from([1, 2, 3, 4]);
  }
  const meta = { clusterId: "c0ffee00-1111-2222-3333-444455556666", revision: 9, raftIndex: 9, raftTerm: 2, voters: [1, 2, 3], learners: [], kvraftVersion: "0.1.0", takenAtMs: 1_765_000_000_000, bodyFormat: BODY_FORMAT_KV_SNAPSHOT };
  const parts: Uint8Array[] = [];
  for await (const part of encodeBackup(meta, body(), crc32c)) parts.push(part);
  return Buffer.concat(parts);
}

/** `kvraft backup remove`, which a scheduled backup's prune Job runs on its claim. */
describe("kvraft backup remove", () => {
  let scratch: string;
  beforeAll(async () => { scratch = await mkdtemp(join(tmpdir(), "kvraft-remove-")); });
  afterAll(async () => { await rm(scratch, { recursive: true, force: true }); });

  it("removes a backup and the .partial a failed take left beside it", async () => {
    const file = join(scratch, "a.kvbackup");
    await writeFile(file, await backupBytes());
    await writeFile(`${file}.partial`, "half");
    const result = await runKvraft(["backup", "remove", file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`removed ${file}`);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.partial`)).toBe(false);
  });

  it("succeeds on a file already gone, so a prune Job that runs again succeeds", async () => {
    const result = await runKvraft(["backup", "remove", join(scratch, "never.kvbackup")]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("is already gone");
  });

  it("refuses a file that is not a KVRaft backup and leaves it in place", async () => {
    const file = join(scratch, "notes.txt");
    await writeFile(file, "not a backup at all, but someone's notes");
    const result = await runKvraft(["backup", "remove", file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is not a sound KVRaft backup: .*not removed/);
    expect(existsSync(file)).toBe(true);
  });
});
