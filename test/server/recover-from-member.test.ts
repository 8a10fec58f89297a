import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeConfChange } from "../../src/raft/conf-change.js";
import { encodeCommand, KvStateMachine } from "../../src/kv/index.js";
import { type Entry, EntryType } from "../../src/raft/types.js";
import { bootstrapCluster } from "../../src/server/bootstrap.js";
import { recoverFromMember, RecoveryRefusedError } from "../../src/server/recover-from-member.js";
import { restoreFromStorage } from "../../src/server/snapshot-slices.js";
import { NODE_SCHEDULER } from "../../src/server/node-scheduler.js";
import { DiskStorage } from "../../src/storage/index.js";

// The data-dir rewrite behind --recover-from-member, on a real data dir: what it keeps,
// and that a crash after any step is finished by the next start.

const OLD = "old-cluster";
const NEW = "new-cluster";
const MEMBER = 3;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Entries 2..7 (puts k2..k7, with member 4 added as a learner at 5); the member recorded commit 4. */
function history(): Entry[] {
  return [2, 3, 4, 5, 6, 7].map((index) => index === 5
    ? { index, term: 2, type: EntryType.ConfChange, data: encodeConfChange({ type: "add-learner", nodeId: 4 }) }
    : { index, term: 2, type: EntryType.Normal, data: encodeCommand({ stampMs: 1000 + index, command: { type: "put", key: utf8(`k${index}`), value: utf8(`v${index}`) } }) });
}

/** The state a member that applied the whole history would hold. */
function expectedState(): KvStateMachine {
  const kv = new KvStateMachine();
  kv.applyNoop(1);
  for (const entry of history()) {
    if (entry.type === EntryType.Normal) kv.apply(entry.index, entry.data);
    else kv.applyNoop(entry.index);
  }
  return kv;
}

async function survivorDataDir(dir: string): Promise<void> {
  const storage = await DiskStorage.open(dir, { memberId: MEMBER, clusterId: OLD });
  await bootstrapCluster(storage, [1, 2, 3]);
  await storage.persist({ entries: history(), hardState: { term: 2, vote: 1, commit: 4, nonVoting: false } });
  await storage.close();
}

async function readBack(dir: string): Promise<{ meta: ReturnType<DiskStorage["snapshotMeta"]>; hardState: ReturnType<DiskStorage["hardState"]>; digest: string; lastIndex: number }> {
  const storage = await DiskStorage.open(dir, { memberId: MEMBER, clusterId: NEW });
  try {
    const meta = storage.snapshotMeta();
    const kv = await restoreFromStorage(storage, meta, NODE_SCHEDULER.nextTurn);
    return { meta, hardState: storage.hardState(), digest: kv.digest(), lastIndex: storage.lastIndex() };
  } finally {
    await storage.close();
  }
}

describe("recoverFromMember: the survivor's data dir as a one-member cluster", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "kvraft-recover-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps the whole log, past the recorded commit index, as a snapshot of configuration {N} at its last index, in the new cluster", async () => {
    await survivorDataDir(dir);
    const outcome = await recoverFromMember(dir, MEMBER, NEW);
    expect(outcome).toMatchObject({ outcome: "recovered", fromClusterId: OLD, toClusterId: NEW, lastIndex: 7, term: 2, recordedCommitIndex: 4, oldVoters: [1, 2, 3] });
    const back = await readBack(dir);
    expect(back.meta).toMatchObject({ index: 7, term: 2, config: { voters: [MEMBER], learners: [] } });
    expect(back.hardState).toEqual({ term: 2, vote: 0, commit: 7, nonVoting: false });
    expect(back.digest).toBe(expectedState().digest());
    expect(await readdir(dir)).toContain(`before-recovery-${OLD}`);
    await expect(DiskStorage.open(dir, { memberId: MEMBER, clusterId: OLD })).rejects.toThrow(/clusterId/);
  });

  it("moves only the storage's files: a volume's lost+found stays where it is", async () => {
    await survivorDataDir(dir);
    await mkdir(join(dir, "lost+found"));
    await recoverFromMember(dir, MEMBER, NEW);
    expect(await readdir(dir)).toContain("lost+found");
    expect(await readdir(join(dir, `before-recovery-${OLD}`))).not.toContain("lost+found");
  });

  it("a second run finds the new id and changes nothing", async () => {
    await survivorDataDir(dir);
    await recoverFromMember(dir, MEMBER, NEW);
    const before = await readdir(dir);
    expect(await recoverFromMember(dir, MEMBER, NEW)).toMatchObject({ outcome: "already-recovered" });
    expect(await readdir(dir)).toEqual(before);
  });

  for (const step of ["staged", "old-moved"] as const) {
    it(`a crash right after the '${step}' step is finished by the next start, with the same result`, async () => {
      await survivorDataDir(dir);
      const crash = new Error(`crash after ${step}`);
      await expect(recoverFromMember(dir, MEMBER, NEW, { afterStep: (at) => { if (at === step) throw crash; } })).rejects.toBe(crash);
      expect(await recoverFromMember(dir, MEMBER, NEW)).toMatchObject({ outcome: "recovered", lastIndex: 7, fromClusterId: OLD });
      const back = await readBack(dir);
      expect(back.meta.index).toBe(7);
      expect(back.digest).toBe(expectedState().digest());
      expect((await readdir(dir)).filter((name) => name.startsWith("recovery-") || name.startsWith("RECOVERY"))).toEqual([]);
    });
  }

  it("refuses a member that had lost its data (non-voting): its log is not a whole history", async () => {
    const storage = await DiskStorage.open(dir, { memberId: MEMBER, clusterId: OLD });
    await bootstrapCluster(storage, [1, 2, 3]);
    await storage.persist({ hardState: { term: 1, vote: 0, commit: 1, nonVoting: true } });
    await storage.close();
    await expect(recoverFromMember(dir, MEMBER, NEW)).rejects.toThrow(RecoveryRefusedError);
    await expect(recoverFromMember(dir, MEMBER, NEW)).rejects.toThrow(/member 3 had lost its data .*recover from another survivor or restore a backup/);
  });
});
