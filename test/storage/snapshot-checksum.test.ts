/** The whole-data CRC32C of snapshots (SnapshotMeta.checksum) as storage keeps and checks it. */
import { crc32c } from "@node-rs/crc32";
import { describe, expect, it } from "vitest";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SnapshotMeta } from "../../src/raft/types.js";
import { CorruptDataError, type DiskStorage, MemoryStorage } from "../../src/storage/index.js";
import { collect, hardState, makeEntries, openDisk, withTempDir } from "./helpers.js";

const DATA = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 13) & 0xff));

function meta(index: number, fields: Partial<SnapshotMeta> = {}): SnapshotMeta {
  return { index, term: 1, config: { voters: [1], learners: [] }, sizeBytes: DATA.length, ...fields };
}

/** The JSON header of the snapshot file at `index` in `dir` (snapshot-format.ts: magic, length, crc, JSON). */
async function header(dir: string, index: number): Promise<Record<string, unknown>> {
  const bytes = await readFile(await snapshotPath(dir, index));
  return JSON.parse(bytes.subarray(16, 16 + bytes.readUInt32LE(8)).toString("utf8")) as Record<string, unknown>;
}

/** Rewrites the header of a snapshot file with `change` applied (its header CRC made right again). */
async function rewriteHeader(dir: string, index: number, change: (json: Record<string, unknown>) => void): Promise<void> {
  const path = await snapshotPath(dir, index);
  const bytes = await readFile(path);
  const length = bytes.readUInt32LE(8);
  const json = JSON.parse(bytes.subarray(16, 16 + length).toString("utf8")) as Record<string, unknown>;
  change(json);
  const body = Buffer.from(JSON.stringify(json));
  const prefix = Buffer.from(bytes.subarray(0, 16));
  prefix.writeUInt32LE(body.length, 8);
  prefix.writeUInt32LE(crc32c(body), 12);
  await writeFile(path, Buffer.concat([prefix, body, bytes.subarray(16 + length)]));
}

/** A data dir whose snapshot at index 30 holds DATA, with its checksum. */
async function saveSnapshotAndClose(dir: string): Promise<void> {
  const store = await openDisk(dir);
  await store.persist({ hardState: hardState(1, 30), entries: makeEntries(1, 30, 1) });
  await store.saveSnapshot(meta(30, { checksum: crc32c(DATA) }), DATA);
  await store.close();
}

/** Opens the data dir, runs `check` on it, and closes it. */
async function reopened(dir: string, check: (store: DiskStorage) => Promise<void> | void): Promise<void> {
  const store = await openDisk(dir);
  try {
    await check(store);
  } finally {
    await store.close();
  }
}

async function snapshotPath(dir: string, index: number): Promise<string> {
  const name = (await readdir(dir)).find((file) => file === `snapshot-${String(index).padStart(20, "0")}.snap`);
  if (name === undefined) throw new Error(`no snapshot file at index ${index} in ${dir}`);
  return join(dir, name);
}

describe("snapshot checksums in storage", () => {
  it("a local snapshot's checksum is written in its file's header and read back after a restart", async () => {
    await withTempDir(async (dir) => {
      await saveSnapshotAndClose(dir);
      expect(await header(dir, 30)).toMatchObject({ formatVersion: 1, checksum: crc32c(DATA) });
      await reopened(dir, (store) => {
        expect(store.snapshotMeta()).toEqual(meta(30, { checksum: crc32c(DATA) }));
        expect(store.recovery.events).toEqual([]);
      });
    });
  });

  it("a snapshot file of an older build (no checksum in its header) still opens, and its meta gets the checksum of its data", async () => {
    await withTempDir(async (dir) => {
      await saveSnapshotAndClose(dir);
      await rewriteHeader(dir, 30, (json) => { delete json["checksum"]; });
      expect(await header(dir, 30)).not.toHaveProperty("checksum");
      await reopened(dir, async (store) => {
        expect(store.recovery.events).toEqual([]);
        expect(store.snapshotMeta()).toEqual(meta(30, { checksum: crc32c(DATA) }));
        expect(await collect(store.readSnapshotData(store.snapshotMeta()))).toEqual(DATA);
      });
    });
  });

  it("a snapshot file whose data disagrees with its header's checksum is set aside at start, like any corrupt snapshot", async () => {
    await withTempDir(async (dir) => {
      await saveSnapshotAndClose(dir);
      await rewriteHeader(dir, 30, (json) => { json["checksum"] = (crc32c(DATA) ^ 1) >>> 0; });
      await reopened(dir, (store) => {
        expect(store.recovery.events).toMatchObject([{ type: "snapshot-set-aside", reason: expect.stringContaining("CRC32C") }]);
        expect(store.snapshotMeta().index).toBe(0);
      });
    });
  });

  it.each(["disk", "memory"] as const)("%s: a received snapshot whose bytes do not match its checksum is never installed", async (kind) => {
    await withTempDir(async (dir) => {
      const store = kind === "disk" ? await openDisk(dir) : new MemoryStorage();
      try {
        const incoming = await store.beginIncoming(meta(20, { checksum: crc32c(DATA) }));
        const corrupted = Buffer.from(DATA);
        corrupted[4321] = (corrupted[4321] as number) ^ 0x40;
        await incoming.writeChunk(0, corrupted);
        await expect(incoming.finish()).rejects.toThrow(CorruptDataError);
        expect(store.snapshotMeta().index).toBe(0);
        if (kind === "disk") expect((await readdir(dir)).filter((file) => file.includes("snapshot-"))).toEqual([]);
        // The good bytes install, checksum and all.
        const again = await store.beginIncoming(meta(20, { checksum: crc32c(DATA) }));
        await again.writeChunk(0, DATA.subarray(0, 1000));
        await again.writeChunk(1000, DATA.subarray(1000));
        await again.finish();
        expect(store.snapshotMeta()).toEqual(meta(20, { checksum: crc32c(DATA) }));
        expect(await collect(store.readSnapshotData(store.snapshotMeta()))).toEqual(DATA);
      } finally {
        await store.close();
      }
    });
  });
});
