/** One server-sent event: its name (`message` when none is given) and its data lines joined. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/**
 * Reads a text/event-stream as it arrives, in chunks cut anywhere: whole events come
 * out, comments (keep-alives) are counted. Pure: the caller feeds it text. A line longer
 * than `lineCharsMax` is a broken or hostile stream, refused rather than buffered forever.
 */
export class SseParser {
  private buffered = "";
  private event = "";
  private data: string[] = [];
  commentCount = 0;

  constructor(private readonly lineCharsMax: number) {}

  feed(text: string): SseEvent[] {
    this.buffered += text;
    const events: SseEvent[] = [];
    let newline: number;
    while ((newline = this.buffered.indexOf("\n")) >= 0) {
      const line = this.buffered.slice(0, newline).replace(/\r$/, "");
      this.buffered = this.buffered.slice(newline + 1);
      const complete = this.line(line);
      if (complete !== undefined) events.push(complete);
    }
    if (this.buffered.length > this.lineCharsMax) throw new RangeError(`an event-stream line is longer than ${this.lineCharsMax} characters: not a stream this program reads`);
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") {
      if (this.data.length === 0) {
        this.event = "";
        return undefined;
      }
      const complete = { event: this.event === "" ? "message" : this.event, data: this.data.join("\n") };
      this.event = "";
      this.data = [];
      return complete;
    }
    if (line.startsWith(":")) {
      this.commentCount++;
      return undefined;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    return undefined;
  }
}
