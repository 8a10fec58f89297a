import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { NodeId } from "../raft/types.js";
import { DiskStorage, isStorageFile, nodeFileIo, STORAGE_META_FILE } from "../storage/index.js";

/**
 * A data dir of a member that joined an existing cluster and never received anything
 * from it (no log entry, no snapshot) holds no history of that cluster: it may start
 * again under another cluster id. This is what the members that came back empty before
 * a quorum-loss recovery meet when they restart under the recovered cluster's new id
 * (docs/DISASTER-RECOVERY.md). A dir with any entry or snapshot is never taken over.
 *
 * The storage's own files are removed, its identity file last, so a start that dies
 * half-way still finds a dir of the old cluster, still empty, and takes it over again.
 * Returns false, changing nothing, when the dir holds history.
 */
export async function adoptEmptyDataDir(dataDir: string, memberId: NodeId, fromClusterId: string): Promise<boolean> {
  const storage = await DiskStorage.open(dataDir, { memberId, clusterId: fromClusterId });
  let holdsHistory: boolean;
  try {
    holdsHistory = storage.lastIndex() > 0 || storage.snapshotMeta().index > 0;
  } finally {
    await storage.close();
  }
  if (holdsHistory) return false;
  const files = (await readdir(dataDir)).filter(isStorageFile);
  for (const name of files.filter((f) => f !== STORAGE_META_FILE)) await rm(join(dataDir, name), { recursive: true, force: true });
  await nodeFileIo.syncDirectory(dataDir);
  await rm(join(dataDir, STORAGE_META_FILE), { force: true });
  await nodeFileIo.syncDirectory(dataDir);
  return true;
}
