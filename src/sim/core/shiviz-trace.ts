import {
  formatEvent, memberHost, NO_TRACE, shivizFileHead, type Tracer, VectorClockTracer,
} from "../../trace/index.js";

/**
 * The simulator's ShiViz trace (`kvraft sim --seed S --shiviz FILE`): one vector-clock
 * tracer per simulated member (`member-ID`) and client (`client-N`), all writing into one
 * in-memory list in the run's order, so the same seed gives the same file. Off, it hands
 * out NO_TRACE and callers skip it behind `enabled`, so a run without --shiviz pays one
 * boolean test per message. Bounded: after `eventsMax` events tracing stops, and a last
 * event of the host `sim` says so (sends already written stay; their receives do not).
 */

/** Events one simulated run may trace by default: a few virtual seconds of a cluster, which ShiViz still draws. */
export const SHIVIZ_EVENTS_MAX_DEFAULT = 200_000;
/** The most --shiviz-events-max accepts: the whole list is held in memory before writing. */
export const SHIVIZ_EVENTS_MAX_LIMIT = 2_000_000;
/** The host of the one event that says the trace was cut short. */
export const SIM_HOST = "sim";

export { memberHost };

export function clientHost(clientId: number): string {
  return `client-${clientId}`;
}

export class SimShivizTrace {
  private readonly lines: string[] = [];
  private readonly tracers = new Map<string, Tracer>();
  private stopped = false;

  /** `eventsMax` undefined: tracing off. */
  constructor(private readonly eventsMax: number | undefined) {
    if (eventsMax !== undefined && (!Number.isSafeInteger(eventsMax) || eventsMax < 1 || eventsMax > SHIVIZ_EVENTS_MAX_LIMIT)) {
      throw new RangeError(`shiviz eventsMax must be 1 to ${SHIVIZ_EVENTS_MAX_LIMIT}, got ${eventsMax}`);
    }
  }

  /** True while events are being recorded: callers test it before building any event text. */
  get enabled(): boolean {
    return this.eventsMax !== undefined && !this.stopped;
  }

  /** The tracer of one host (NO_TRACE when off); its `enabled` turns false when the trace stops. */
  tracer(host: string): Tracer {
    if (this.eventsMax === undefined) return NO_TRACE;
    let tracer = this.tracers.get(host);
    if (tracer === undefined) {
      tracer = this.stoppable(new VectorClockTracer(host, (text) => this.write(text)));
      this.tracers.set(host, tracer);
    }
    return tracer;
  }

  /** The events recorded so far. */
  get eventCount(): number {
    return this.lines.length;
  }

  /** The whole file ShiViz opens: its head, then every event in the run's order. */
  fileText(): string {
    return shivizFileHead() + this.lines.join("");
  }

  private stoppable(inner: Tracer): Tracer {
    const isOn = (): boolean => this.enabled;
    return {
      get enabled() {
        return isOn();
      },
      send: (event) => (isOn() ? inner.send(event) : undefined),
      receive: (event) => {
        if (isOn()) inner.receive(event);
      },
      local: (text) => {
        if (isOn()) inner.local(text);
      },
    };
  }

  private write(text: string): void {
    if (this.stopped || this.eventsMax === undefined) return;
    if (this.lines.length >= this.eventsMax) {
      this.stopped = true;
      this.lines.push(formatEvent({
        host: SIM_HOST, clock: { [SIM_HOST]: 1 },
        event: `trace stopped after ${this.eventsMax} events: later events are not drawn (raise --shiviz-events-max to see more)`,
      }));
      return;
    }
    this.lines.push(text);
  }
}
