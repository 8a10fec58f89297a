import { invariant } from "../assert/invariant.js";
import { type Crc32c, encodeHeader, encodeTrailer } from "./format.js";
import type { BackupMeta } from "./meta.js";

/**
 * Writes one backup as it streams: `header()` first, then each slice of the body through
 * `body()` (which updates the checksums and hands the slice back), then `trailer()`. No
 * piece of the body is kept: a state of any size passes through in the slices it came in.
 */
export class BackupWriter {
  private stage: "header" | "body" | "done" = "header";
  private fileCrc = 0;
  private bodyCrc = 0;
  private bodyBytes = 0;

  constructor(
    private readonly meta: BackupMeta,
    private readonly crc: Crc32c,
  ) {}

  /** Bytes of the body passed through so far. */
  get bodyBytesWritten(): number {
    return this.bodyBytes;
  }

  header(): Uint8Array {
    invariant(this.stage === "header", () => `BackupWriter.header is called once, first (stage ${this.stage})`);
    const bytes = encodeHeader(this.meta, this.crc);
    this.fileCrc = this.crc(bytes);
    this.stage = "body";
    return bytes;
  }

  body(slice: Uint8Array): Uint8Array {
    invariant(this.stage === "body", () => `BackupWriter.body is called between header and trailer (stage ${this.stage})`);
    this.fileCrc = this.crc(slice, this.fileCrc);
    this.bodyCrc = this.crc(slice, this.bodyCrc);
    this.bodyBytes += slice.length;
    return slice;
  }

  trailer(): Uint8Array {
    invariant(this.stage === "body", () => `BackupWriter.trailer is called once, after the header (stage ${this.stage})`);
    this.stage = "done";
    return encodeTrailer(this.bodyBytes, this.bodyCrc, this.fileCrc, this.crc);
  }
}

/** The whole backup as a stream of slices: the header, the body's slices as they come, the trailer. */
export async function* encodeBackup(meta: BackupMeta, body: AsyncIterable<Uint8Array>, crc: Crc32c): AsyncGenerator<Uint8Array> {
  const writer = new BackupWriter(meta, crc);
  yield writer.header();
  for await (const slice of body) {
    if (slice.length > 0) yield writer.body(slice);
  }
  yield writer.trailer();
}
