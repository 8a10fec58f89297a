/**
 * Vector clocks as GoVector keeps them and ShiViz draws them: one counter per host, the
 * host's own counter grows by one at each of its events, a receive takes the elementwise
 * maximum of its clock and the sender's and then ticks. Pure: no IO.
 */

/** A clock as it travels and as it is printed: host name to that host's event count. */
export type ClockEntries = Readonly<Record<string, number>>;

/** Hosts one clock may name: a clock that grew past this came from a confused or hostile peer. */
export const CLOCK_HOSTS_MAX = 256;
/** The longest host name a clock carries, in characters. */
export const HOST_NAME_CHARS_MAX = 128;

export class VectorClockError extends Error {
  override readonly name = "VectorClockError";
}

export class VectorClock {
  private readonly counts = new Map<string, number>();

  /** The clock of `host` before its first event (every count 0). */
  constructor(readonly host: string) {
    checkHostName(host);
  }

  /** A local event: the host's own count grows by one. Returns the clock to log with it. */
  tick(): ClockEntries {
    this.counts.set(this.host, (this.counts.get(this.host) ?? 0) + 1);
    return this.entries();
  }

  /**
   * A receive of a message stamped `sent`: take the elementwise maximum, then tick, so
   * the receive dominates its send and every earlier event of this host. The stamp's
   * entry for this host is not taken: only this host counts its own events (in a sound
   * run the sender's is never ahead), so a confused peer cannot make its count jump. A
   * stamp that would make the clock name more than CLOCK_HOSTS_MAX hosts is refused
   * (VectorClockError) before anything is merged, so the clock stays usable.
   */
  receive(sent: ClockEntries): ClockEntries {
    // Counted before merging (own host included), so a refused stamp leaves the clock as it was.
    const entries = Object.entries(sent).filter(([host]) => host !== this.host);
    const hosts = new Set([this.host, ...this.counts.keys(), ...entries.map(([host]) => host)]).size;
    if (hosts > CLOCK_HOSTS_MAX) {
      throw new VectorClockError(`a clock would name ${hosts} hosts, more than ${CLOCK_HOSTS_MAX}`);
    }
    for (const [host, count] of entries) {
      if ((this.counts.get(host) ?? 0) < count) this.counts.set(host, count);
    }
    return this.tick();
  }

  /** The current clock (a copy), with this host's entry first as GoVector prints it. */
  entries(): ClockEntries {
    const out: Record<string, number> = { [this.host]: this.counts.get(this.host) ?? 0 };
    for (const [host, count] of this.counts) if (host !== this.host) out[host] = count;
    return out;
  }
}

/**
 * Validates a clock that arrived from elsewhere (a peer's frame, a trace file): a JSON
 * object of at most CLOCK_HOSTS_MAX hosts with non-negative safe-integer counts.
 * Returns it, or throws VectorClockError saying what is wrong.
 */
export function checkClock(value: unknown): ClockEntries {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new VectorClockError("a vector clock must be a JSON object of host to count");
  }
  const entries = Object.entries(value);
  if (entries.length > CLOCK_HOSTS_MAX) {
    throw new VectorClockError(`a vector clock names ${entries.length} hosts, more than ${CLOCK_HOSTS_MAX}`);
  }
  for (const [host, count] of entries) {
    checkHostName(host);
    if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 0) {
      throw new VectorClockError(`host ${JSON.stringify(host)} has count ${JSON.stringify(count)}: counts are non-negative integers`);
    }
  }
  return value as ClockEntries;
}

/** True when every count of `a` is at most `b`'s: `a` happened before or equals `b`. */
export function clockLessOrEqual(a: ClockEntries, b: ClockEntries): boolean {
  return Object.entries(a).every(([host, count]) => count <= (b[host] ?? 0));
}

function checkHostName(host: string): void {
  if (host.length === 0 || host.length > HOST_NAME_CHARS_MAX || /\s/.test(host)) {
    throw new VectorClockError(
      `host name ${JSON.stringify(host)} must be 1 to ${HOST_NAME_CHARS_MAX} characters without spaces (ShiViz splits the host from its clock at a space)`,
    );
  }
}
