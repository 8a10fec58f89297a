import { type Bounds, checkBounds } from "./assert/bounds.js";
import { open, type FileHandle } from "node:fs/promises";
import { NO_TRACE, type Tracer, VectorClockTracer } from "./trace/index.js";

/**
 * The trace log of one process (`--trace-log FILE`): the events its Tracer makes,
 * appended to FILE in GoVector's format, for `kvraft trace merge` and ShiViz. Shared by
 * the server and the coordinator (it sits at the edge, above both, like
 * process-metrics.ts).
 *
 * Tracing must never slow or stop the process it watches: events wait in a bounded
 * buffer and one write at a time takes all that waits (so a burst is one write); when
 * the buffer is full, or the disk fails, events are dropped and counted, never waited
 * for. The file is truncated at open: a process that restarts starts a new trace, since
 * its clock starts again at 1 and ShiViz refuses a host whose clock goes back.
 */

/** Events buffered while a write is under way, past which new ones are dropped: about 2 MB of typical events. */
export const TRACE_FILE_BUFFERED_EVENTS_DEFAULT = 10_000;
export const TRACE_FILE_BUFFERED_EVENTS_BOUNDS: Bounds = [1, 1_000_000];

export interface TraceFileStats {
  readonly writtenEvents: number;
  /** Events lost: the buffer was full, or a write failed. */
  readonly droppedEvents: number;
}

export interface TraceFileOptions {
  /** See TRACE_FILE_BUFFERED_EVENTS_DEFAULT. */
  readonly bufferedEventsMax?: number;
  /** Told once, at the first failed write (the process carries on without those events). */
  readonly onWriteError?: (error: Error) => void;
}

export class TraceFile {
  private buffered: string[] = [];
  private writing: Promise<void> | undefined;
  private written = 0;
  private dropped = 0;
  private failed = false;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly bufferedEventsMax: number,
    private readonly onWriteError: (error: Error) => void,
  ) {}

  /** Creates (or truncates) `path`; rejects with an error naming the flag when it cannot. */
  static async open(path: string, options: TraceFileOptions = {}): Promise<TraceFile> {
    const bufferedEventsMax = options.bufferedEventsMax ?? TRACE_FILE_BUFFERED_EVENTS_DEFAULT;
    checkBounds({ bufferedEventsMax }, { bufferedEventsMax: TRACE_FILE_BUFFERED_EVENTS_BOUNDS }, (field, value, problem) => new RangeError(`trace file: ${field} ${problem}, got ${String(value)}`));
    let handle: FileHandle;
    try {
      handle = await open(path, "w");
    } catch (error) {
      throw new RangeError(`--trace-log ${path} cannot be opened for writing (${(error as Error).message}): point it at a writable file`);
    }
    return new TraceFile(path, handle, bufferedEventsMax, options.onWriteError ?? (() => undefined));
  }

  /** One whole event (its two lines); never blocks, never throws. */
  append(event: string): void {
    if (this.closed || this.buffered.length >= this.bufferedEventsMax) {
      this.dropped++;
      return;
    }
    this.buffered.push(event);
    this.writing ??= this.drain();
  }

  stats(): TraceFileStats {
    return { writtenEvents: this.written, droppedEvents: this.dropped };
  }

  /** Writes what is buffered, then closes the file; later events are dropped. */
  async close(): Promise<TraceFileStats> {
    if (this.closed) return this.stats();
    this.closed = true;
    await this.writing;
    await this.handle.close().catch(() => undefined);
    return this.stats();
  }

  private async drain(): Promise<void> {
    while (this.buffered.length > 0) {
      const batch = this.buffered;
      this.buffered = [];
      try {
        await this.handle.write(batch.join(""));
        this.written += batch.length;
      } catch (error) {
        this.dropped += batch.length;
        if (!this.failed) this.onWriteError(error instanceof Error ? error : new Error(String(error)));
        this.failed = true;
      }
    }
    this.writing = undefined;
  }
}

/** A process's tracer and what closes it: NO_TRACE (costing nothing) without a path. */
export interface ProcessTrace {
  readonly tracer: Tracer;
  /** Flushes and closes the file; undefined stats when not tracing. */
  close(): Promise<TraceFileStats | undefined>;
}

/** Opens `path` (if given) and makes the tracer of `host` writing to it. */
export async function openProcessTrace(path: string | undefined, host: string, options: TraceFileOptions = {}): Promise<ProcessTrace> {
  if (path === undefined) return { tracer: NO_TRACE, close: () => Promise.resolve(undefined) };
  const file = await TraceFile.open(path, options);
  return { tracer: new VectorClockTracer(host, (event) => file.append(event)), close: () => file.close() };
}
