import { describe, expect, it } from "vitest";
import { COMPACT_LINE_CHARS_MAX, compactLine, RepeatFilter } from "../../src/local/compact-log.js";

const pino = (level: number, msg: string, fields: Record<string, unknown> = {}): string => JSON.stringify({ level, time: 1, member: 2, ...fields, msg });

/** A member's pino line, and what `kvraft local` shows for it. */
const rows: [string, string, string | undefined][] = [
  ["a new leader", pino(30, "leader in term 3, leader 2", { role: "leader", term: 3, leader: 2 }), "leader in term 3"],
  ["a follower that knows its leader", pino(30, "follower in term 3, leader 1", { role: "follower", term: 3, leader: 1 }), "follower in term 3, leader m1"],
  ["an election under way", pino(30, "candidate in term 4, leader 0", { role: "candidate", term: 4, leader: 0 }), "candidate in term 4, no leader yet"],
  ["serving", pino(30, "member 2 of cluster x serving: peer port 7012, http port 7022, memcached port 7032", { peer: 7012, http: 7022, memcached: 7032 }), "serving: http :7022, memcached :7032, peer :7012"],
  ["a snapshot", pino(30, "snapshot-saved", { event: { type: "snapshot-saved", index: 10000, sizeBytes: 5, ms: 3 } }), "snapshot saved at index 10000"],
  ["a transport warning names the peer", pino(40, "transport: error", { event: { type: "error", peerId: 3, stage: "connect" } }), "warn: transport: error (m3, connect)"],
  ["an error with its cause", pino(50, "stopping: disk gone", { err: { message: "EIO" } }), "error: stopping: disk gone (EIO)"],
  ["debug is left out", pino(20, "tick"), undefined],
  ["plain text (stderr) is shown as is", "kvraft server: the HTTP port 127.0.0.1:7022 is taken", "kvraft server: the HTTP port 127.0.0.1:7022 is taken"],
  ["an empty line is left out", "   ", undefined],
];

describe("kvraft local: the compact log", () => {
  for (const [name, line, shown] of rows) it(name, () => expect(compactLine(line)).toBe(shown));

  it("cuts a very long line", () => {
    expect(compactLine("x".repeat(1000))?.length).toBe(COMPACT_LINE_CHARS_MAX);
  });

  it("collapses a line repeated back to back by one child, and counts it when that child moves on", () => {
    const filter = new RepeatFilter();
    const shown = [
      ...filter.accept("m1", "warn: transport: error (m3, connect)"),
      ...filter.accept("m1", "warn: transport: error (m3, connect)"),
      ...filter.accept("m2", "warn: transport: error (m3, connect)"),
      ...filter.accept("m1", "warn: transport: error (m3, connect)"),
      ...filter.accept("m1", "follower in term 4, leader m2"),
    ];
    expect(shown).toEqual([
      "warn: transport: error (m3, connect)",
      "warn: transport: error (m3, connect)",
      "(its previous line repeated 2 more times)",
      "follower in term 4, leader m2",
    ]);
  });
});
