import { describe, expect, it } from "vitest";
import {
  describeSummary, formatEvent, mergeLogs, parseEvents, parseEventsStrict, parseMessageEvent, receiveEventText, sendEventText,
  SHIVIZ_PARSER_REGEX, shivizFileHead, summarizeTrace, VectorClockError, withoutShivizHead, type TraceEvent,
} from "../../src/trace/index.js";
import { parseLikeShiviz } from "../support/shiviz-model.js";

const EVENTS: TraceEvent[] = [
  { host: "member-1", clock: { "member-1": 1 }, event: "send App to=member-2 msg=member-1#1 term=2" },
  { host: "member-2", clock: { "member-2": 1, "member-1": 1 }, event: "recv App from=member-1 msg=member-1#1 term=2" },
  { host: "member-2", clock: { "member-2": 2, "member-1": 1 }, event: "apply index=4 req=r-9 {\"not\": \"a clock\"}" },
];

describe("the GoVector log format", () => {
  it("writes two lines per event, the host and its JSON clock, then the event", () => {
    expect(formatEvent(EVENTS[0] as TraceEvent)).toBe('member-1 {"member-1":1}\nsend App to=member-2 msg=member-1#1 term=2\n');
  });

  it("folds newlines in an event's text, since ShiViz's event group ends at the line's end", () => {
    const text = formatEvent({ host: "a", clock: { a: 1 }, event: "two\nlines\r\n" });
    expect(text).toBe('a {"a":1}\ntwo lines \n');
    expect(parseEvents(text)).toEqual([{ host: "a", clock: { a: 1 }, event: "two lines " }]);
  });

  it("round-trips: parseEvents(format(events)) gives the events back", () => {
    expect(parseEvents(EVENTS.map(formatEvent).join(""))).toEqual(EVENTS);
  });

  it("names the host and offset of a clock that is not JSON", () => {
    expect(() => parseEvents('a {"a":1,}\nlocal\n')).toThrow(/clock of "a" at offset 0 is not JSON/);
    expect(() => parseEvents('a {"a":-1}\nlocal\n')).toThrow(VectorClockError);
  });

  it("heads a ShiViz file with the parser regex and an empty delimiter line", () => {
    expect(shivizFileHead()).toBe(`${SHIVIZ_PARSER_REGEX}\n\n`);
    expect(SHIVIZ_PARSER_REGEX).toBe(String.raw`(?<host>\S*) (?<clock>{.*})\n(?<event>.*)`);
  });

  it("merges hosts' logs into a file that ShiViz's parser reads back event for event", () => {
    const bodies = [formatEvent(EVENTS[0] as TraceEvent), EVENTS.slice(1).map(formatEvent).join("").trimEnd()];
    const file = mergeLogs(bodies);
    expect(file.startsWith(shivizFileHead())).toBe(true);
    expect(parseLikeShiviz(file)).toEqual(EVENTS);
  });

  it("the ShiViz model refuses what ShiViz refuses (so the tests above could fail)", () => {
    const skip = mergeLogs([formatEvent({ host: "a", clock: { a: 2 }, event: "x" })]);
    expect(() => parseLikeShiviz(skip)).toThrow(/start at 1/);
    const unknown = mergeLogs([formatEvent({ host: "a", clock: { a: 1, b: 1 }, event: "x" })]);
    expect(() => parseLikeShiviz(unknown)).toThrow(/unrecognised host b/);
  });
});

describe("message event texts", () => {
  it("round-trips a send with a request id and details", () => {
    const fields = { kind: "put", peer: "member-1", messageId: "client-1#3", requestId: "r-7", details: "key=a term=2" };
    const text = sendEventText(fields);
    expect(text).toBe("send put to=member-1 msg=client-1#3 req=r-7 key=a term=2");
    expect(parseMessageEvent(text)).toEqual({ direction: "send", ...fields });
  });

  it("round-trips a receive without request id or details", () => {
    const fields = { kind: "AppResp", peer: "member-2", messageId: "member-2#10" };
    const text = receiveEventText(fields);
    expect(text).toBe("recv AppResp from=member-2 msg=member-2#10");
    expect(parseMessageEvent(text)).toEqual({ direction: "recv", ...fields });
  });

  it("reads other lines as local events", () => {
    expect(parseMessageEvent("elected term=3")).toBeUndefined();
    expect(parseMessageEvent("send without fields")).toBeUndefined();
  });
});

describe("parseEventsStrict: a trace file read for merging", () => {
  it("names the first line that is not part of an event, counting a ShiViz head it skips", () => {
    const good = formatEvent(EVENTS[0] as TraceEvent);
    expect(parseEventsStrict(good + good)).toHaveLength(2);
    // ShiViz's regex would read this clock line with an empty host; strictly, it is refused.
    expect(() => parseEventsStrict(good + good.replace("member-1 ", "member-1  "))).toThrow(/line 3 is not/);
    expect(() => parseEventsStrict(`${good}stray text\nmore\n`)).toThrow(/line 3 is not a "HOST \{clock\}" line: "stray text"/);
    expect(() => parseEventsStrict(`${shivizFileHead()}${good}stray\n`)).toThrow(/line 5 is not/);
    expect(() => parseEventsStrict(`${good}member-1 {"member-1":2}\n`)).toThrow(/line 3 is a clock line without its event line/);
  });

  it("reads a file that already has the ShiViz head (a simulated run, an earlier merge)", () => {
    const file = mergeLogs(EVENTS.map(formatEvent));
    expect(parseEventsStrict(file)).toEqual(EVENTS);
    expect(withoutShivizHead(file)).toEqual({ body: EVENTS.map(formatEvent).join(""), headLines: 2 });
  });
});

describe("summarizeTrace", () => {
  it("counts hosts, events, and sends paired with a receive (a lost one unpaired)", () => {
    const lost: TraceEvent = { host: "member-2", clock: { "member-2": 3, "member-1": 1 }, event: "send AppResp to=member-1 msg=member-2#3" };
    const summary = summarizeTrace([...EVENTS, lost]);
    expect(summary).toEqual({ hosts: ["member-1", "member-2"], events: 4, sends: 2, sendsPaired: 1, receivesPaired: 1 });
    expect(describeSummary(summary)).toBe("2 hosts (member-1, member-2), 4 events, 1 of 2 messages paired with their receive (1 never received: lost, in flight at the end, or sent to a host without a trace)");
  });
});
