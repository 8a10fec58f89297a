import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AppendRequest, Message } from "../../src/raft/messages.js";
import { EntryType } from "../../src/raft/types.js";
import { CommitNotices } from "../../src/server/commit-notices.js";
import { NODE_SCHEDULER } from "../../src/server/node-scheduler.js";

function append(to: number, commit: number, entries = 0): AppendRequest {
  return {
    type: "App", from: 1, to, term: 2, prevIndex: 10, prevTerm: 2, commit, session: 1, votingBarrier: 0,
    entries: Array.from({ length: entries }, (_, i) => ({ index: 11 + i, term: 2, type: EntryType.Normal, data: new Uint8Array(1) })),
  };
}

describe("commit notices: a commit-only append waits for the next append to carry it", () => {
  let sent: Message[];
  let notices: CommitNotices;
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    notices = new CommitNotices((m) => sent.push(m), NODE_SCHEDULER, 2);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("tells apart notices (no entries) from appends that carry entries", () => {
    expect(CommitNotices.isNotice(append(2, 5))).toBe(true);
    expect(CommitNotices.isNotice(append(2, 5, 1))).toBe(false);
    expect(CommitNotices.isNotice({ type: "Heartbeat", from: 1, to: 2, term: 2, commit: 5, round: 0 })).toBe(false);
  });

  it("sends a held notice once the delay passes when nothing else goes to that follower", () => {
    notices.hold(append(2, 5));
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([append(2, 5)]);
    vi.advanceTimersByTime(10);
    expect(sent).toHaveLength(1);
  });

  it("drops a held notice when an append to the same follower leaves first; other followers keep theirs", () => {
    notices.hold(append(2, 5));
    notices.hold(append(3, 5));
    notices.sendNow(append(2, 6, 1));
    vi.advanceTimersByTime(5);
    expect(sent).toEqual([append(2, 6, 1), append(3, 5)]);
  });

  it("keeps only the newest notice per follower", () => {
    notices.hold(append(2, 5));
    notices.hold(append(2, 7));
    vi.advanceTimersByTime(5);
    expect(sent).toEqual([append(2, 7)]);
  });

  it("other messages leave at once and leave a held notice alone", () => {
    notices.hold(append(2, 5));
    const heartbeat: Message = { type: "Heartbeat", from: 1, to: 2, term: 2, commit: 5, round: 0 };
    notices.sendNow(heartbeat);
    expect(sent).toEqual([heartbeat]);
    vi.advanceTimersByTime(5);
    expect(sent).toEqual([heartbeat, append(2, 5)]);
  });

  it("sends nothing after clear (a stopping member)", () => {
    notices.hold(append(2, 5));
    notices.clear();
    vi.advanceTimersByTime(5);
    expect(sent).toEqual([]);
  });
});
