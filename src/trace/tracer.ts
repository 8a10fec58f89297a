import { formatEvent } from "./govector-log.js";
import { messageId, receiveEventText, sendEventText } from "./message-events.js";
import { type ClockEntries, VectorClock, VectorClockError } from "./vector-clock.js";

/**
 * What a process uses to trace: it stamps each send with its clock (the stamp travels with
 * the message), merges the stamp of each receive, and hands every event's two lines to a
 * sink (a file at the edges, an array in the simulator). `NO_TRACE` does nothing and
 * stamps nothing, so a process without --trace-log pays one call per message. Pure: the
 * sink does the IO.
 */

/** What travels with a traced message: the sender's clock and the message's id. */
export interface TraceStamp {
  readonly clock: ClockEntries;
  readonly messageId: string;
}

export interface SendTrace {
  /** A short name of the message (Raft type, client operation, `forward`, `reply`, `heartbeat`). */
  readonly kind: string;
  /** The receiving host's name in the trace. */
  readonly to: string;
  readonly requestId?: string;
  readonly details?: string;
}

export interface ReceiveTrace {
  readonly kind: string;
  /** The sending host's name in the trace. */
  readonly from: string;
  /** The stamp that came with the message; undefined when the sender does not trace (then a local event). */
  readonly stamp: TraceStamp | undefined;
  readonly requestId?: string;
  readonly details?: string;
}

export interface Tracer {
  /** False for NO_TRACE: callers skip building event details. */
  readonly enabled: boolean;
  /** Records a send; returns the stamp to put on the message (undefined when not tracing). */
  send(event: SendTrace): TraceStamp | undefined;
  /** Records a receive, merging the sender's clock; never throws (a stamp the clock cannot take is dropped). */
  receive(event: ReceiveTrace): void;
  /** Records a local event (`elected term=3`, `apply index=12 req=...`). */
  local(text: string): void;
}

export const NO_TRACE: Tracer = {
  enabled: false,
  send: () => undefined,
  receive: () => undefined,
  local: () => undefined,
};

/** A tracer for `host` writing GoVector lines to `sink` (each call gets one whole event). */
export class VectorClockTracer implements Tracer {
  readonly enabled = true;
  private readonly clock: VectorClock;

  constructor(readonly host: string, private readonly sink: (lines: string) => void) {
    this.clock = new VectorClock(host);
  }

  send(event: SendTrace): TraceStamp {
    const clock = this.clock.tick();
    const id = messageId(this.host, clock);
    this.write(clock, sendEventText({ kind: event.kind, peer: event.to, messageId: id, requestId: event.requestId, details: event.details }));
    return { clock, messageId: id };
  }

  receive(event: ReceiveTrace): void {
    if (event.stamp === undefined) {
      const request = event.requestId === undefined ? "" : ` req=${event.requestId}`;
      this.local(`request ${event.kind} from=${event.from}${request}${event.details === undefined ? "" : ` ${event.details}`}`);
      return;
    }
    let clock: ClockEntries;
    try {
      clock = this.clock.receive(event.stamp.clock);
    } catch (error) {
      // A stamp this clock cannot take (too many hosts) is dropped like a bad one: tracing never fails a receive.
      if (!(error instanceof VectorClockError)) throw error;
      this.receive({ ...event, stamp: undefined });
      return;
    }
    this.write(clock, receiveEventText({
      kind: event.kind, peer: event.from, messageId: event.stamp.messageId, requestId: event.requestId, details: event.details,
    }));
  }

  local(text: string): void {
    this.write(this.clock.tick(), text);
  }

  private write(clock: ClockEntries, event: string): void {
    this.sink(formatEvent({ host: this.host, clock, event }));
  }
}
