import { crc32c } from "@node-rs/crc32";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BackupFormatError, BackupMetaError, type BackupMeta, BackupReader, BackupWriter, BODY_FORMAT_KV_SNAPSHOT, encodeBackup, readBackup, TRAILER_BYTES } from "../../src/backup/index.js";

const META: BackupMeta = {
  clusterId: "c0ffee00-1111-2222-3333-444455556666", revision: 4711, raftIndex: 4711, raftTerm: 3,
  voters: [1, 2, 3], learners: [4], kvraftVersion: "0.1.0", takenAtMs: 1_765_000_000_000, bodyFormat: BODY_FORMAT_KV_SNAPSHOT,
};

/** A body of `size` bytes that is not all one value, so a flip changes it. */
function body(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) & 0xff);
}

async function* slicesOf(bytes: Uint8Array, sliceBytes: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += sliceBytes) yield bytes.subarray(at, at + sliceBytes);
}

async function encode(meta: BackupMeta, data: Uint8Array, sliceBytes = 1000): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of encodeBackup(meta, slicesOf(data, sliceBytes), crc32c)) parts.push(part);
  return Buffer.concat(parts);
}

/** The error reading `file` in slices of `sliceBytes` gives (fails the test if it reads clean). */
async function refusal(file: Uint8Array, sliceBytes = 777): Promise<BackupFormatError> {
  try {
    await readBackup(slicesOf(file, sliceBytes), crc32c);
  } catch (error) {
    if (error instanceof BackupFormatError) return error;
    throw error;
  }
  throw new Error("the file was accepted");
}

function flipped(file: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(file);
  copy[at] = (copy[at] as number) ^ 0x01;
  return copy;
}

describe("backup file format", () => {
  it("round-trips metadata and body whatever the slice sizes of writing and reading", async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 3000 }), async (size, writeSlice, readSlice) => {
      const data = body(size);
      const file = await encode(META, data, writeSlice);
      const seen: Uint8Array[] = [];
      const verified = await readBackup(slicesOf(file, readSlice), crc32c, (slice) => seen.push(Uint8Array.from(slice)));
      expect(verified.meta).toEqual(META);
      expect(verified.trailer.bodyBytes).toBe(size);
      expect(verified.trailer.bodyCrc32c).toBe(crc32c(data));
      expect(verified.fileBytes).toBe(file.length);
      expect(Buffer.concat(seen).equals(Buffer.from(data))).toBe(true);
    }), { numRuns: 60 });
  });

  it("the writer passes the body's slices through as they are, without keeping them", () => {
    const writer = new BackupWriter(META, crc32c);
    writer.header();
    const slice = body(100);
    expect(writer.body(slice)).toBe(slice);
    expect(writer.bodyBytesWritten).toBe(100);
    writer.trailer();
    expect(() => writer.body(slice)).toThrow(/between header and trailer/);
  });

  it("refuses a flipped byte anywhere, and names the section it is in", async () => {
    const data = body(3000);
    const file = await encode(META, data);
    const bodyStart = file.length - TRAILER_BYTES - data.length;
    // Every byte of the header and trailer, and a spread of body bytes.
    const positions = [...Array.from({ length: bodyStart }, (_, i) => i), ...Array.from({ length: 60 }, (_, i) => bodyStart + i * 50), ...Array.from({ length: TRAILER_BYTES }, (_, i) => file.length - TRAILER_BYTES + i)];
    for (const at of positions) {
      const error = await refusal(flipped(file, at));
      const expected = at < bodyStart ? "header" : at < file.length - TRAILER_BYTES ? "body" : "trailer";
      expect({ at, section: error.section }).toEqual({ at, section: expected });
    }
  });

  it("says where: a header flip fails its checksum, a body flip names the body's byte range", async () => {
    const data = body(3000);
    const file = await encode(META, data);
    const bodyStart = file.length - TRAILER_BYTES - data.length;
    expect((await refusal(flipped(file, 20))).message).toMatch(/^header at byte 0: bytes 0-\d+ fail their checksum .*metadata is damaged/);
    expect((await refusal(flipped(file, bodyStart + 1234))).message).toContain(`body at byte ${bodyStart}: bytes ${bodyStart}-${bodyStart + 2999} fail their checksum`);
    expect((await refusal(flipped(file, file.length - 3))).message).toMatch(/^trailer at byte \d+: .*trailer is damaged/);
  });

  it("refuses a foreign file at its first bytes: a kv snapshot, text, an empty file", async () => {
    const kvSnapshot = Uint8Array.from([0x4b, 0x56, 0x53, 0x4d, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    for (const foreign of [kvSnapshot, new TextEncoder().encode("hello, this is not a backup at all"), new TextEncoder().encode("PK")]) {
      const error = await refusal(foreign);
      expect(error.section).toBe("header");
      expect(error.message).toContain("not a KVRaft backup");
    }
    expect((await refusal(new Uint8Array(0))).message).toContain("the file is empty");
  });

  it("refuses a format version it does not read, saying which it reads", async () => {
    const file = await encode(META, body(10));
    const future = Uint8Array.from(file);
    future[8] = 9;
    expect((await refusal(future)).message).toContain("format version 9, and this build reads 1");
  });

  it("refuses a truncated file wherever it is cut: in the header, the body or the trailer", async () => {
    const data = body(2000);
    const file = await encode(META, data);
    const bodyStart = file.length - TRAILER_BYTES - data.length;
    for (const length of [5, 12, bodyStart - 1, bodyStart, bodyStart + 1, bodyStart + 1000, file.length - TRAILER_BYTES, file.length - 1]) {
      const error = await refusal(file.subarray(0, length));
      expect(error.message).toMatch(/truncated/);
    }
  });

  it("refuses a header whose length field claims more than the limit, before reading it", async () => {
    const file = await encode(META, body(10));
    const forged = Uint8Array.from(file);
    forged.set([0x7f, 0xff, 0xff, 0xff], 9);
    const reader = new BackupReader(crc32c);
    expect(() => reader.push(forged.subarray(0, 13))).toThrow(/more than the 65536 a backup header may hold/);
  });

  it("refuses metadata the format cannot hold, naming the field", async () => {
    const bad = [{ ...META, clusterId: "" }, { ...META, revision: -1 }, { ...META, voters: [0] }, { ...META, kvraftVersion: "x".repeat(300) }];
    for (const meta of bad) {
      const writer = new BackupWriter(meta, crc32c);
      expect(() => writer.header()).toThrow(BackupMetaError);
    }
  });
});
