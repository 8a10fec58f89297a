import { BackupFormatError } from "./errors.js";
import { BACKUP_MAGIC, type BackupTrailer, checkTrailer, type Crc32c, decodeHeader, HEADER_PREFIX_BYTES, headerBytesFromPrefix, TRAILER_BYTES } from "./format.js";
import type { BackupMeta } from "./meta.js";

/** A backup read to its end with every checksum matching. */
export interface VerifiedBackup {
  readonly meta: BackupMeta;
  readonly trailer: BackupTrailer;
  /** Bytes of the whole file. */
  readonly fileBytes: number;
}

/**
 * Reads a backup from slices of any size as they arrive, checking as it goes: the header
 * as soon as it is whole (so a foreign or damaged file is refused at its first bytes),
 * the body's and the file's checksums at the end. The last TRAILER_BYTES seen are held
 * back, since only the end of the file tells where the body stops. `onBody` sees the
 * body's slices as they pass; they are trustworthy only once `end()` returns.
 */
export class BackupReader {
  private stage: "header" | "body" = "header";
  /** The header's bytes so far (bounded by the header limit), then the held-back tail. */
  private pending: Uint8Array = new Uint8Array(0);
  private headerBytes = HEADER_PREFIX_BYTES;
  private prefixRead = false;
  private metaValue: BackupMeta | undefined;
  private offset = 0;
  private fileCrc = 0;
  private bodyCrc = 0;
  private bodyBytes = 0;

  constructor(
    private readonly crc: Crc32c,
    private readonly onBody: (slice: Uint8Array) => void = () => {},
  ) {}

  /** The metadata, once the header has been read and checked. */
  get meta(): BackupMeta | undefined {
    return this.metaValue;
  }

  push(slice: Uint8Array): void {
    this.offset += slice.length;
    this.pushBody(this.stage === "header" ? this.pushHeader(slice) : slice);
  }

  /** Takes what the header still needs from `slice` (never more, so a large slice is not copied); returns the rest. */
  private pushHeader(slice: Uint8Array): Uint8Array {
    let rest = slice;
    while (this.stage === "header" && rest.length > 0) {
      const take = Math.min(rest.length, this.headerBytes - this.pending.length);
      this.pending = concat(this.pending, rest.subarray(0, take));
      rest = rest.subarray(take);
      if (this.pending.length < this.headerBytes) break;
      if (!this.prefixRead) {
        this.headerBytes = headerBytesFromPrefix(this.pending);
        this.prefixRead = true;
        continue;
      }
      this.metaValue = decodeHeader(this.pending, this.crc);
      this.fileCrc = this.crc(this.pending);
      this.pending = new Uint8Array(0);
      this.stage = "body";
    }
    return this.stage === "body" ? rest : new Uint8Array(0);
  }

  /** Checks the trailer against what was read; throws BackupFormatError naming the faulty section. */
  end(): VerifiedBackup {
    const meta = this.metaValue;
    if (this.stage === "header" || meta === undefined) throw this.truncatedHeader();
    if (this.pending.length < TRAILER_BYTES) {
      throw new BackupFormatError("trailer", this.offset, `the file ends ${this.pending.length} bytes after its header, where a ${TRAILER_BYTES}-byte trailer must be: truncated`);
    }
    const trailerAt = this.offset - TRAILER_BYTES;
    const trailer = checkTrailer(this.pending, trailerAt, { bodyStart: this.headerBytes, bodyBytes: this.bodyBytes, bodyCrc32c: this.bodyCrc, fileCrcSoFar: this.fileCrc }, this.crc);
    return { meta, trailer, fileBytes: this.offset };
  }

  private pushBody(slice: Uint8Array): void {
    if (slice.length === 0 || this.stage !== "body") return;
    // Everything but the last TRAILER_BYTES seen is body.
    let release: Uint8Array;
    if (slice.length >= TRAILER_BYTES) {
      this.takeBody(this.pending);
      release = slice.subarray(0, slice.length - TRAILER_BYTES);
      this.pending = slice.slice(slice.length - TRAILER_BYTES);
    } else {
      const joined = concat(this.pending, slice);
      const cut = Math.max(0, joined.length - TRAILER_BYTES);
      release = joined.subarray(0, cut);
      this.pending = joined.slice(cut);
    }
    this.takeBody(release);
  }

  private takeBody(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.fileCrc = this.crc(bytes, this.fileCrc);
    this.bodyCrc = this.crc(bytes, this.bodyCrc);
    this.bodyBytes += bytes.length;
    this.onBody(bytes);
  }

  private truncatedHeader(): BackupFormatError {
    const seen = this.pending;
    if (seen.length === 0) return new BackupFormatError("header", 0, "the file is empty: not a KVRaft backup");
    const magicSeen = seen.subarray(0, Math.min(seen.length, BACKUP_MAGIC.length));
    if (!magicSeen.every((byte, i) => byte === BACKUP_MAGIC[i])) {
      return new BackupFormatError("header", 0, `does not start with "KVRAFTBK": not a KVRaft backup`);
    }
    return new BackupFormatError("header", seen.length, `the file ends after ${seen.length} bytes, inside its ${this.headerBytes}-byte header: truncated`);
  }
}

/** Reads and checks a whole backup from a stream of slices. */
export async function readBackup(slices: AsyncIterable<Uint8Array>, crc: Crc32c, onBody?: (slice: Uint8Array) => void): Promise<VerifiedBackup> {
  const reader = new BackupReader(crc, onBody);
  for await (const slice of slices) reader.push(slice);
  return reader.end();
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}
