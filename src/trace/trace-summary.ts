import type { TraceEvent } from "./govector-log.js";
import { parseMessageEvent } from "./message-events.js";

/** What a merged trace holds, for the line `kvraft trace merge` prints. Pure. */
export interface TraceSummary {
  readonly hosts: readonly string[];
  readonly events: number;
  readonly sends: number;
  /** Sends with at least one receive in the trace. */
  readonly sendsPaired: number;
  /** Receive events of a send in the trace (a duplicate delivery counts twice). */
  readonly receivesPaired: number;
}

export function summarizeTrace(events: readonly TraceEvent[]): TraceSummary {
  const hosts = new Set<string>();
  const sent = new Set<string>();
  const received = new Set<string>();
  let receivesPaired = 0;
  for (const event of events) {
    hosts.add(event.host);
    const message = parseMessageEvent(event.event);
    if (message?.direction === "send") sent.add(message.messageId);
  }
  for (const event of events) {
    const message = parseMessageEvent(event.event);
    if (message?.direction !== "recv" || !sent.has(message.messageId)) continue;
    received.add(message.messageId);
    receivesPaired++;
  }
  return { hosts: [...hosts].sort(), events: events.length, sends: sent.size, sendsPaired: received.size, receivesPaired };
}

export function describeSummary(summary: TraceSummary): string {
  const unpaired = summary.sends - summary.sendsPaired;
  return `${summary.hosts.length} hosts (${summary.hosts.join(", ")}), ${summary.events} events, `
    + `${summary.sendsPaired} of ${summary.sends} messages paired with their receive`
    + (unpaired > 0 ? ` (${unpaired} never received: lost, in flight at the end, or sent to a host without a trace)` : "");
}
