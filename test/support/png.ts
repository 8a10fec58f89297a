import { inflateSync } from "node:zlib";

/** A decoded 8-bit PNG: `channels` bytes per pixel, rows top to bottom. */
export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly pixels: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Colour types a screenshot comes in, by the bytes per pixel each has at 8 bits. */
const CHANNELS_OF_COLOUR_TYPE = new Map([[0, 1], [2, 3], [4, 2], [6, 4]]);

/**
 * Decodes the PNGs a browser writes for a screenshot (8-bit grey or RGB, with or without
 * alpha, not interlaced): just enough to look at the pixels in a test, with no
 * dependency. Anything else is refused by name.
 */
export function decodePng(file: Buffer): DecodedPng {
  if (!file.subarray(0, 8).equals(SIGNATURE)) throw new Error("not a PNG: the signature is missing");
  let width = 0, height = 0, channels = 0;
  const data: Buffer[] = [];
  for (let at = 8; at < file.length;) {
    const length = file.readUInt32BE(at);
    const type = file.toString("latin1", at + 4, at + 8);
    const body = file.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [bitDepth, colourType, , , interlace] = [body[8], body[9], body[10], body[11], body[12]];
      channels = CHANNELS_OF_COLOUR_TYPE.get(colourType ?? -1) ?? 0;
      if (bitDepth !== 8 || channels === 0 || interlace !== 0) throw new Error(`unsupported PNG: bit depth ${bitDepth}, colour type ${colourType}, interlace ${interlace}`);
    } else if (type === "IDAT") {
      data.push(body);
    }
    at += 12 + length;
  }
  return { width, height, channels, pixels: unfilter(inflateSync(Buffer.concat(data)), width, height, channels) };
}

/** Undoes the per-row filters (PNG specification, section 9). */
function unfilter(raw: Buffer, width: number, height: number, channels: number): Uint8Array {
  const stride = width * channels;
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const left = x >= channels ? (out[y * stride + x - channels] as number) : 0;
      const up = y > 0 ? (out[(y - 1) * stride + x] as number) : 0;
      const upLeft = x >= channels && y > 0 ? (out[(y - 1) * stride + x - channels] as number) : 0;
      const predicted = filter === 0 ? 0 : filter === 1 ? left : filter === 2 ? up : filter === 3 ? (left + up) >> 1 : paeth(left, up, upLeft);
      out[y * stride + x] = ((row[x] as number) + predicted) & 0xff;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** How many distinct colours the image has, and the share of pixels not of the most common one. */
export function colourSpread(png: DecodedPng): { colours: number; notBackgroundShare: number } {
  const counts = new Map<number, number>();
  for (let i = 0; i < png.pixels.length; i += png.channels) {
    let key = 0;
    for (let c = 0; c < Math.min(png.channels, 3); c++) key = key * 256 + (png.pixels[i + c] as number);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = png.width * png.height;
  const background = Math.max(...counts.values());
  return { colours: counts.size, notBackgroundShare: (total - background) / total };
}
