import { checkClock, type ClockEntries, VectorClockError } from "./vector-clock.js";

/**
 * The log format GoVector writes and ShiViz parses: each event is two lines,
 *
 *   HOST {"HOST":n, "OTHER":m}
 *   what happened
 *
 * and a file ShiViz opens from disk starts with the parser's regular expression on its
 * first line and the multiple-executions delimiter (empty here: one run per file) on its
 * second. Pure: text in, text out.
 */

/** ShiViz's parser expression for GoVector logs, with the named groups it requires. */
export const SHIVIZ_PARSER_REGEX = String.raw`(?<host>\S*) (?<clock>{.*})\n(?<event>.*)`;

export interface TraceEvent {
  readonly host: string;
  readonly clock: ClockEntries;
  /** One line: newlines are replaced, since ShiViz's event group ends at the line's end. */
  readonly event: string;
}

/** The two lines of one event, newline-terminated. */
export function formatEvent(event: TraceEvent): string {
  return `${event.host} ${JSON.stringify(event.clock)}\n${event.event.replace(/[\r\n]+/g, " ")}\n`;
}

/** The head of a file ShiViz opens: its parser expression, then an empty delimiter line. */
export function shivizFileHead(): string {
  return `${SHIVIZ_PARSER_REGEX}\n\n`;
}

/**
 * Parses a GoVector log body (no ShiViz head) the way ShiViz does, with its regex.
 * Throws VectorClockError naming the line of a clock that is not valid JSON.
 */
export function parseEvents(body: string): TraceEvent[] {
  const events: TraceEvent[] = [];
  const parser = new RegExp(SHIVIZ_PARSER_REGEX, "g");
  for (const match of body.matchAll(parser)) {
    const groups = match.groups;
    if (groups === undefined) continue;
    let clock: unknown;
    try {
      clock = JSON.parse(groups["clock"] ?? "");
    } catch {
      throw new VectorClockError(`the clock of ${JSON.stringify(groups["host"])} at offset ${match.index} is not JSON: ${groups["clock"]}`);
    }
    events.push({ host: groups["host"] ?? "", clock: checkClock(clock), event: groups["event"] ?? "" });
  }
  return events;
}

/**
 * One file ShiViz opens, from the logs of one run's hosts (each a GoVector body, as the
 * trace writer appends it). ShiViz orders events by their clocks, so bodies are joined
 * as they come.
 */
export function mergeLogs(bodies: readonly string[]): string {
  return shivizFileHead() + bodies.map((body) => (body === "" || body.endsWith("\n") ? body : `${body}\n`)).join("");
}

const CLOCK_LINE = /^\S+ \{.*\}$/;

/**
 * Parses one host's trace log strictly: besides what ShiViz reads, every line must belong
 * to an event (ShiViz silently skips text between matches, which hides a torn or foreign
 * file). Throws VectorClockError naming the first line that is not part of an event.
 */
export function parseEventsStrict(text: string): TraceEvent[] {
  const { body, headLines } = withoutShivizHead(text);
  const lines = body.split("\n");
  if (lines.at(-1) === "") lines.pop();
  for (let i = 0; i < lines.length; i += 2) {
    const lineNumber = headLines + i + 1;
    if (!CLOCK_LINE.test(lines[i] ?? "")) {
      throw new VectorClockError(`line ${lineNumber} is not a "HOST {clock}" line: ${JSON.stringify((lines[i] ?? "").slice(0, 80))}`);
    }
    if (i + 1 >= lines.length) throw new VectorClockError(`line ${lineNumber} is a clock line without its event line (a torn last write?)`);
  }
  return parseEvents(body);
}

/** A log's body without the ShiViz head, if it has one (a simulated run's file, an earlier merge). */
export function withoutShivizHead(text: string): { body: string; headLines: number } {
  const head = shivizFileHead();
  return text.startsWith(head) ? { body: text.slice(head.length), headLines: 2 } : { body: text, headLines: 0 };
}
