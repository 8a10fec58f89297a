/**
 * What ShiViz does with a file it opens, restated for tests (from its documented log
 * format and its parser's behaviour, not its code): the first line is the parser regex,
 * the second the multiple-executions delimiter (empty: one execution), the rest the log,
 * trimmed; the regex is applied with the "m" flag from the start, match after match.
 * Then the model's refusals: a clock without its own host, a host whose own counts are
 * not exactly 1, 2, 3..., a clock entry naming a host or an event not in the log.
 * Returns the events, or throws with ShiViz's reason.
 */
export interface ShivizEvent {
  readonly host: string;
  readonly clock: Record<string, number>;
  readonly event: string;
}

export function parseLikeShiviz(fileText: string): ShivizEvent[] {
  const [regexLine = "", delimiterLine = "", ...rest] = fileText.split("\n");
  if (delimiterLine.trim() !== "") throw new Error(`expected an empty delimiter line, got ${JSON.stringify(delimiterLine)}`);
  const regexp = new RegExp(regexLine.trim(), "gm");
  const log = rest.join("\n").trim();
  const events: ShivizEvent[] = [];
  for (const match of log.matchAll(regexp)) {
    const { host, clock, event } = match.groups ?? {};
    if (host === undefined || clock === undefined || event === undefined) throw new Error("the regex lacks the host, clock and event groups");
    events.push({ host, clock: JSON.parse(clock) as Record<string, number>, event });
  }
  if (events.length === 0) throw new Error("the parser regex captures no events");
  checkModel(events);
  return events;
}

function checkModel(events: readonly ShivizEvent[]): void {
  const countsOf = new Map<string, number[]>();
  for (const e of events) {
    if (!Object.hasOwn(e.clock, e.host)) throw new Error(`local host ${e.host} is missing from its timestamp`);
    countsOf.set(e.host, [...(countsOf.get(e.host) ?? []), e.clock[e.host] as number]);
  }
  for (const [host, counts] of countsOf) {
    counts.sort((a, b) => a - b);
    counts.forEach((count, i) => {
      if (count !== i + 1) throw new Error(`clock values of ${host} must start at 1 and increase by 1; found ${count} at position ${i + 1}`);
    });
  }
  for (const e of events) {
    for (const [host, count] of Object.entries(e.clock)) {
      if (count === 0) continue;
      const known = countsOf.get(host)?.length;
      if (known === undefined) throw new Error(`${e.host}'s clock names an unrecognised host ${host}`);
      if (count > known) throw new Error(`${e.host}'s clock has an invalid value ${count} for ${host}`);
    }
  }
}
