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
