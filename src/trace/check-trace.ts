import type { TraceEvent } from "./govector-log.js";
import { parseMessageEvent } from "./message-events.js";
import { clockLessOrEqual, type ClockEntries } from "./vector-clock.js";

/**
 * The properties a trace must have for ShiViz to draw it truthfully, checked on the
 * events of one run (in any interleaving of hosts, each host's own events in order):
 * - each host's own count starts at 1 and grows by exactly one per event (ShiViz refuses
 *   anything else);
 * - each host's clock only grows, entry by entry;
 * - every entry of a clock names an event that is in the trace (ShiViz refuses a clock
 *   naming a host it has no events of, or a count past that host's last event: the
 *   symptom of a host's log missing from a merge);
 * - a receive names a send that exists and its clock dominates that send's clock.
 * Returns the problems found, at most `problemsMax`, as sentences; empty when the trace
 * is sound. Pure.
 */
export function checkTrace(events: readonly TraceEvent[], problemsMax = 20): string[] {
  const problems: string[] = [];
  const report = (problem: string): void => {
    if (problems.length < problemsMax) problems.push(problem);
  };
  const lastClockOf = new Map<string, ClockEntries>();
  const sends = new Map<string, ClockEntries>();
  for (const event of events) {
    const previous = lastClockOf.get(event.host);
    const own = event.clock[event.host] ?? 0;
    const expected = (previous?.[event.host] ?? 0) + 1;
    if (own !== expected) report(`${event.host}'s event "${event.event}" has its own count ${own}, expected ${expected}`);
    if (previous !== undefined && !clockLessOrEqual(previous, event.clock)) {
      report(`${event.host}'s clock went back at "${event.event}": ${JSON.stringify(previous)} then ${JSON.stringify(event.clock)}`);
    }
    lastClockOf.set(event.host, event.clock);
    const message = parseMessageEvent(event.event);
    if (message?.direction === "send") sends.set(message.messageId, event.clock);
  }
  for (const event of events) {
    checkEntriesExist(event, lastClockOf, report);
    const message = parseMessageEvent(event.event);
    if (message?.direction !== "recv") continue;
    const sent = sends.get(message.messageId);
    if (sent === undefined) report(`${event.host} received ${message.messageId}, which no host's trace sent`);
    else if (!clockLessOrEqual(sent, event.clock) || (event.clock[event.host] ?? 0) <= (sent[event.host] ?? 0)) {
      report(`${event.host}'s receive of ${message.messageId} ${JSON.stringify(event.clock)} does not follow its send ${JSON.stringify(sent)}`);
    }
  }
  return problems;
}

function checkEntriesExist(event: TraceEvent, lastClockOf: ReadonlyMap<string, ClockEntries>, report: (problem: string) => void): void {
  for (const [host, count] of Object.entries(event.clock)) {
    if (host === event.host || count === 0) continue; // ShiViz drops zero entries.
    const eventsOfHost = lastClockOf.get(host)?.[host] ?? 0;
    if (count > eventsOfHost) {
      report(`${event.host}'s event "${event.event}" knows ${host}'s event ${count}, but the trace has ${eventsOfHost} events of ${host} (is its log missing?)`);
    }
  }
}
