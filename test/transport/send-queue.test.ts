import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MessageType } from "../../src/raft/messages.js";
import { type QueuedFrame, SendQueue } from "../../src/transport/send-queue.js";

let serial = 0;
/** Which frame is which, for assertions: frames are told apart by identity. */
const serialOf = new WeakMap<QueuedFrame, number>();
function frame(messageType: MessageType, bytes = 10, term = 1): QueuedFrame {
  const made: QueuedFrame = { messageType, term, bytes: new Uint8Array(bytes) };
  serialOf.set(made, ++serial);
  return made;
}
const serials = (frames: readonly QueuedFrame[]): (number | undefined)[] => frames.map((f) => serialOf.get(f));

describe("send queue", () => {
  it("writes heartbeats, votes and appends queued after snapshot chunks first", () => {
    const queue = new SendQueue(100, 10_000);
    const snap1 = frame("Snap", 500);
    const snap2 = frame("Snap", 500);
    const beat = frame("Heartbeat");
    const app = frame("App", 100);
    for (const f of [snap1, snap2, beat, app]) queue.push(f);
    expect(serials(queue.takeBatch(10_000))).toStrictEqual(serials([beat, app, snap1, snap2]));
  });

  it("bounds a batch by bytes but always takes at least one frame", () => {
    const queue = new SendQueue(100, 10_000);
    const frames = [frame("App", 400), frame("App", 400), frame("App", 400)];
    for (const f of frames) queue.push(f);
    expect(serials(queue.takeBatch(850))).toStrictEqual(serials(frames.slice(0, 2)));
    expect(serials(queue.takeBatch(100))).toStrictEqual(serials(frames.slice(2)));
    expect(queue.takeBatch(100)).toStrictEqual([]);
  });

  it("when full drops the oldest snapshot chunk first, then the oldest append, then the oldest other", () => {
    const queue = new SendQueue(4, 10_000);
    const vote = frame("Vote");
    const app1 = frame("App");
    const snap = frame("Snap");
    const app2 = frame("App");
    for (const f of [vote, app1, snap, app2]) expect(queue.push(f).dropped).toStrictEqual([]);
    expect(serials(queue.push(frame("VoteResp")).dropped)).toStrictEqual(serials([snap]));
    expect(serials(queue.push(frame("VoteResp")).dropped)).toStrictEqual(serials([app1]));
    expect(serials(queue.push(frame("VoteResp")).dropped)).toStrictEqual(serials([app2]));
    expect(serials(queue.push(frame("VoteResp")).dropped)).toStrictEqual(serials([vote]));
    expect(queue.messages).toBe(4);
  });

  it("drops by bytes as well as by count, and drops a frame larger than the whole limit at once", () => {
    const queue = new SendQueue(100, 1_000);
    const first = frame("App", 600);
    queue.push(first);
    expect(serials(queue.push(frame("App", 600)).dropped)).toStrictEqual(serials([first]));
    expect(queue.bytes).toBe(600);
    const huge = frame("App", 1_001);
    expect(serials(queue.push(huge).dropped)).toStrictEqual(serials([huge]));
    expect(queue.bytes).toBe(600);
  });

  it("coalesces a heartbeat with a waiting one of the same term, in its place, but not across terms", () => {
    const queue = new SendQueue(100, 10_000);
    const old = frame("Heartbeat", 10, 4);
    const app = frame("App");
    queue.push(old);
    queue.push(app);
    const newer = frame("Heartbeat", 12, 4);
    expect(queue.push(newer)).toStrictEqual({ dropped: [], coalesced: true });
    expect(queue.bytes).toBe(22);
    const nextTerm = frame("Heartbeat", 10, 5);
    expect(queue.push(nextTerm).coalesced).toBe(false);
    expect(serials(queue.takeBatch(10_000))).toStrictEqual(serials([newer, app, nextTerm]));
  });

  it("never exceeds its limits and accounts for every frame (random pushes and takes)", () => {
    const types: MessageType[] = ["App", "Snap", "Heartbeat", "HeartbeatResp", "Vote", "AppResp"];
    const op = fc.oneof(
      fc.record({ push: fc.constantFrom(...types), bytes: fc.integer({ min: 1, max: 400 }), term: fc.integer({ min: 1, max: 2 }) }),
      fc.record({ take: fc.integer({ min: 1, max: 900 }) }),
    );
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 400, max: 2_000 }), fc.array(op, { maxLength: 80 }),
      (messagesMax, bytesMax, ops) => {
        const queue = new SendQueue(messagesMax, bytesMax);
        let pushed = 0;
        let gone = 0;
        for (const step of ops) {
          if ("push" in step) {
            pushed++;
            const { dropped, coalesced } = queue.push(frame(step.push, step.bytes, step.term));
            gone += dropped.length + (coalesced ? 1 : 0);
          } else {
            gone += queue.takeBatch(step.take).length;
          }
          expect(queue.messages).toBeLessThanOrEqual(messagesMax);
          expect(queue.bytes).toBeLessThanOrEqual(bytesMax);
          expect(pushed - gone).toBe(queue.messages);
        }
        const rest = queue.clear();
        expect(rest.length).toBe(pushed - gone);
        expect(queue.bytes).toBe(0);
      }), { numRuns: 500 });
  });
});
