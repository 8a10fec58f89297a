import { describe, expect, it } from "vitest";
import { SseParser } from "../../src/coord/sse-parser.js";

describe("SseParser: text/event-stream as it arrives", () => {
  const stream = "retry: 2000\n\nevent: snapshot\ndata: {\"a\":1}\n\n: keep-alive\n\nevent: view\r\ndata: line one\r\ndata: line two\r\n\r\ndata: unnamed\n\n";

  it("gives the same events however the text is cut into chunks", () => {
    const whole = new SseParser(1024);
    const expected = whole.feed(stream);
    expect(expected).toEqual([
      { event: "snapshot", data: "{\"a\":1}" },
      { event: "view", data: "line one\nline two" },
      { event: "message", data: "unnamed" },
    ]);
    expect(whole.commentCount).toBe(1);
    for (let cut = 1; cut < stream.length; cut++) {
      const parser = new SseParser(1024);
      expect([...parser.feed(stream.slice(0, cut)), ...parser.feed(stream.slice(cut))], `cut at ${cut}`).toEqual(expected);
    }
  });

  it("refuses a line longer than its limit instead of buffering it forever", () => {
    const parser = new SseParser(16);
    expect(() => parser.feed(`data: ${"x".repeat(32)}`)).toThrow(/longer than 16 characters/);
  });
});
