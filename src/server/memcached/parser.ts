import { parseCommandLine, protocolError, type StorageHeader } from "./command-line.js";
import type { ParseEvent } from "./requests.js";

/**
 * An incremental parser of memcached's text protocol: bytes go in with `push` as they
 * arrive, requests (or protocol errors to answer) come out of `next`. Pure: no IO, so
 * the same bytes split anywhere give the same events.
 *
 * Framing follows memcached: a command line ends at "\n" (a "\r" before it is dropped);
 * a storage line is followed by exactly <bytes> of data and "\r\n". A data block over
 * `valueBytesMax` is answered SERVER_ERROR and skipped as it arrives, never buffered.
 * A line over `lineBytesMax` cannot be resynchronised (its end is unknown), so the
 * parser reports it with `close` and yields nothing more.
 */
export { type ParseEvent, type ProtocolError, type Request } from "./requests.js";
export { serializeReply, type Reply, type ValueItem } from "./replies.js";

export interface ParserLimits {
  /** Longest command line, terminator excluded. */
  readonly lineBytesMax: number;
  /** Largest data block a storage command may carry. */
  readonly valueBytesMax: number;
  /** Most keys in one get/gets/gat/gats. */
  readonly getKeysMax: number;
}

const LF = 0x0a;
const CR = 0x0d;
/** The buffer starts small: most connections carry short requests. */
const BUFFER_BYTES_INITIAL = 4096;
/** An emptied buffer larger than this is dropped, so one big value does not pin memory per connection. */
const BUFFER_BYTES_RETAINED_MAX = 64 * 1024;

type Mode =
  | { readonly type: "line" }
  | { readonly type: "data"; readonly header: StorageHeader }
  | { type: "swallow"; remainingBytes: number }
  | { readonly type: "closed" };

/** Whether a refused data block's error is silenced: noreply does; a meta q never silences errors. */
function headerNoreply(header: StorageHeader): boolean {
  return header.request.kind === "storage" && header.request.noreply;
}

export class RequestParser {
  private buffer = new Uint8Array(BUFFER_BYTES_INITIAL);
  /** Unread bytes are buffer[start, end). */
  private start = 0;
  private end = 0;
  /** Where the search for "\n" resumes: bytes before it hold none. */
  private scanned = 0;
  private mode: Mode = { type: "line" };

  constructor(private readonly limits: ParserLimits) {}

  /** Bytes received and not yet parsed. */
  get bufferedBytes(): number {
    return this.end - this.start;
  }

  /** True once a protocol error has ended the stream; `next` yields nothing more. */
  get closed(): boolean {
    return this.mode.type === "closed";
  }

  push(chunk: Uint8Array): void {
    if (this.mode.type === "closed" || chunk.length === 0) return;
    this.reserve(chunk.length);
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** The next request or protocol error, or undefined until more bytes arrive. */
  next(): ParseEvent | undefined {
    while (true) {
      switch (this.mode.type) {
        case "closed":
          return undefined;
        case "swallow":
          if (!this.swallow(this.mode)) return undefined;
          continue;
        case "data":
          return this.readData(this.mode.header);
        case "line": {
          const event = this.readLine();
          if (event !== "continue") return event;
        }
      }
    }
  }

  /** Skips what has arrived of a refused data block; true once all of it is gone. */
  private swallow(mode: { remainingBytes: number }): boolean {
    const skipped = Math.min(mode.remainingBytes, this.end - this.start);
    this.consume(skipped);
    mode.remainingBytes -= skipped;
    if (mode.remainingBytes > 0) return false;
    this.mode = { type: "line" };
    return true;
  }

  private readData(header: StorageHeader): ParseEvent | undefined {
    const blockBytes = header.bytes + 2;
    if (this.end - this.start < blockBytes) return undefined;
    const dataEnd = this.start + header.bytes;
    const terminated = this.buffer[dataEnd] === CR && this.buffer[dataEnd + 1] === LF;
    const data = this.buffer.slice(this.start, dataEnd);
    // memcached consumes <bytes> + 2 whatever they are, and reads on from there.
    this.consume(blockBytes);
    this.mode = { type: "line" };
    if (!terminated) return protocolError("CLIENT_ERROR bad data chunk", headerNoreply(header));
    return { ...header.request, data };
  }

  /** One command line: an event, "continue" when it opened a data block, or undefined. */
  private readLine(): ParseEvent | "continue" | undefined {
    const newline = this.buffer.subarray(this.scanned, this.end).indexOf(LF);
    if (newline < 0) {
      this.scanned = this.end;
      // The terminator may still come, but not within the limit: give up now rather
      // than buffer an unbounded line.
      // (+1: a "\r" may be waiting for its "\n".)
      return this.end - this.start > this.limits.lineBytesMax + 1 ? this.lineTooLong() : undefined;
    }
    const lineEnd = this.scanned + newline;
    const contentEnd = lineEnd > this.start && this.buffer[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    if (contentEnd - this.start > this.limits.lineBytesMax) return this.lineTooLong();
    const line = this.buffer.subarray(this.start, contentEnd);
    const result = parseCommandLine(line, this.limits.getKeysMax);
    this.consume(lineEnd + 1 - this.start);
    switch (result.type) {
      case "request":
        return result.request;
      case "error":
        if (result.swallowBytes !== undefined) this.mode = { type: "swallow", remainingBytes: result.swallowBytes };
        return result.error;
      case "storage":
        return this.openData(result.header);
    }
  }

  private openData(header: StorageHeader): ParseEvent | "continue" {
    if (header.bytes > this.limits.valueBytesMax) {
      this.mode = { type: "swallow", remainingBytes: header.bytes + 2 };
      return protocolError("SERVER_ERROR object too large for cache", headerNoreply(header));
    }
    this.mode = { type: "data", header };
    return "continue";
  }

  private lineTooLong(): ParseEvent {
    this.mode = { type: "closed" };
    this.buffer = new Uint8Array(0);
    this.start = this.end = this.scanned = 0;
    return protocolError(`CLIENT_ERROR line too long: over ${this.limits.lineBytesMax} bytes (lineBytesMax)`, false, true);
  }

  private consume(count: number): void {
    this.start += count;
    this.scanned = Math.max(this.scanned, this.start);
    if (this.start !== this.end) return;
    this.start = this.end = this.scanned = 0;
    if (this.buffer.length > BUFFER_BYTES_RETAINED_MAX) this.buffer = new Uint8Array(BUFFER_BYTES_INITIAL);
  }

  /** Room for `count` more bytes: move unread bytes to the front, grow by doubling. */
  private reserve(count: number): void {
    if (this.end + count <= this.buffer.length) return;
    const unread = this.end - this.start;
    if (unread + count <= this.buffer.length && this.start > 0) {
      this.buffer.copyWithin(0, this.start, this.end);
    } else {
      let capacity = this.buffer.length || BUFFER_BYTES_INITIAL;
      while (capacity < unread + count) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.buffer.subarray(this.start, this.end));
      this.buffer = grown;
    }
    this.scanned -= this.start;
    this.end = unread;
    this.start = 0;
  }
}
