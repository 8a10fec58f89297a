/** One data dir, one server: the lock, the metadata file, and config validation. */
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CorruptDataError,
  DataDirLockedError,
  DataDirMismatchError,
  DiskStorage,
  StorageConfigError,
  UnsupportedFormatError,
  validateStorageConfig,
} from "../../src/storage/index.js";
import { openDisk, withTempDir } from "./helpers.js";

const HOLDER = fileURLToPath(new URL("./fixtures/hold-lock.mjs", import.meta.url));
const BUILD = fileURLToPath(new URL("../../dist/storage/index.js", import.meta.url));

describe("data dir lock", () => {
  it("refuses a second server in the same process with a clear error", async () => {
    await withTempDir(async (dir) => {
      const store = await openDisk(dir);
      try {
        await expect(openDisk(dir)).rejects.toThrow(DataDirLockedError);
        await expect(openDisk(dir)).rejects.toThrow(`pid ${process.pid} on host ${hostname()}`);
      } finally {
        await store.close();
      }
      const again = await openDisk(dir);
      expect(again.recovery.events).toEqual([]);
      await again.close();
    });
  });

  it("refuses while another live process holds the dir, and takes over once it is dead", async () => {
    expect(existsSync(BUILD), `the child runs ${BUILD}: build first (npx tsc -p tsconfig.build.json)`).toBe(true);
    await withTempDir(async (dir) => {
      const child = spawn(process.execPath, [HOLDER, dir], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
      try {
        // The holder says it holds the lock, or exits: waiting on the message alone could hang.
        const first = await Promise.race([once(child, "message").then(() => "ready"), once(child, "exit").then(() => "exited")]);
        expect(first, "the lock holder exited before taking the lock").toBe("ready");
        const refused = await openDisk(dir).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(refused).toBeInstanceOf(DataDirLockedError);
        expect((refused as DataDirLockedError).holderPid).toBe(child.pid);
      } finally {
        child.kill("SIGKILL");
        await once(child, "exit");
      }
      const store = await openDisk(dir);
      expect(store.recovery.events).toContainEqual(expect.objectContaining({ type: "stale-lock-replaced", pid: child.pid }));
      await store.close();
    });
  });

  it("replaces a lock left with this process's pid by an earlier incarnation (a container's pid 1)", async () => {
    await withTempDir(async (dir) => {
      await (await openDisk(dir)).close();
      await writeFile(join(dir, "LOCK"), JSON.stringify({ pid: process.pid, host: hostname() }));
      const store = await openDisk(dir);
      expect(store.recovery.events.map((e) => e.type)).toEqual(["stale-lock-replaced"]);
      await store.close();
    });
  });

  it("replaces an unreadable lock (its writer died before filling it in)", async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, "LOCK"), "");
      const store = await openDisk(dir);
      expect(store.recovery.events.map((e) => e.type)).toEqual(["stale-lock-replaced"]);
      await store.close();
    });
  });

  it("refuses a lock held on another host, saying how to clear it", async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, "LOCK"), JSON.stringify({ pid: 4242, host: "some-other-host" }));
      await expect(openDisk(dir)).rejects.toThrow(/pid 4242 on host some-other-host.*delete the lock file/);
    });
  });
});

describe("data dir metadata", () => {
  it("refuses a data dir of another cluster or member", async () => {
    await withTempDir(async (dir) => {
      await (await openDisk(dir)).close();
      await expect(openDisk(dir, { clusterId: "other-cluster" })).rejects.toThrow(DataDirMismatchError);
      await expect(openDisk(dir, { clusterId: "other-cluster" })).rejects.toThrow(/belongs to clusterId test-cluster/);
      await expect(openDisk(dir, { memberId: 2 })).rejects.toThrow(/belongs to memberId 1, but this server was started as memberId 2/);
    });
  });

  it("refuses an unknown format version, and a metadata file that fails its checksum", async () => {
    await withTempDir(async (dir) => {
      await (await openDisk(dir)).close();
      const path = join(dir, "kvraft-meta.json");
      const original = await readFile(path, "utf8");
      await writeFile(path, original.replace('"formatVersion":1', '"formatVersion":99'));
      await expect(openDisk(dir)).rejects.toThrow(UnsupportedFormatError);
      await writeFile(path, original.replace('"test-cluster"', '"test-clusteR"'));
      await expect(openDisk(dir)).rejects.toThrow(CorruptDataError);
    });
  });

  it("refuses WAL files without a metadata file", async () => {
    await withTempDir(async (dir) => {
      await (await openDisk(dir)).close();
      await rm(join(dir, "kvraft-meta.json"));
      await expect(openDisk(dir)).rejects.toThrow(/holds WAL or snapshot files but no metadata file/);
    });
  });
});

describe("storage config", () => {
  it("fills defaults and names the field that is out of range", () => {
    expect(validateStorageConfig({}).segmentBytesMax).toBe(64 * 1024 * 1024);
    expect(() => validateStorageConfig({ segmentBytesMax: 10 })).toThrow(/segmentBytesMax = 10 is invalid/);
    expect(() => validateStorageConfig({ snapshotsRetained: 0 })).toThrow(StorageConfigError);
    expect(() => validateStorageConfig({ memoryLogBytesMax: 1.5 })).toThrow(/memoryLogBytesMax/);
    expect(() => validateStorageConfig({ persistQueueBytesMax: 8192, groupCommitBytesMax: 16384 })).toThrow(
      /persistQueueBytesMax = 8192 is invalid: must be at least groupCommitBytesMax/,
    );
    const field = (() => {
      try {
        validateStorageConfig({ segmentPreallocate: "yes" as unknown as boolean });
      } catch (error) {
        return (error as StorageConfigError).field;
      }
      return undefined;
    })();
    expect(field).toBe("segmentPreallocate");
  });

  it("refuses member id 0 and an empty cluster id", async () => {
    await withTempDir(async (dir) => {
      await expect(DiskStorage.open(dir, { memberId: 0, clusterId: "c" })).rejects.toThrow(/memberId = 0/);
      await expect(DiskStorage.open(dir, { memberId: 1, clusterId: "" })).rejects.toThrow(/clusterId/);
    });
  });
});
