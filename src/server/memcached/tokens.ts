import { KEY_BYTES_MAX } from "./requests.js";

/**
 * Splitting a request line into tokens and reading the numbers and keys in them, with
 * memcached's ranges. Pure byte work: the parser's helpers.
 */

const SPACE = 0x20;
const DELETE = 0x7f;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const MINUS = 0x2d;
/** Digits of 2^64 - 1, the largest number the protocol carries. */
const UINT64_DIGITS_MAX = 20;

export const UINT32_MAX = 0xffff_ffffn;
export const UINT64_MAX = (1n << 64n) - 1n;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Tokens are separated by one or more spaces, like memcached's tokenize_command; tabs
 * and other control bytes stay inside tokens (and so make a key invalid).
 */
export function splitTokens(line: Uint8Array): Uint8Array[] {
  const tokens: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= line.length; i++) {
    if (i === line.length || line[i] === SPACE) {
      if (i > start) tokens.push(line.subarray(start, i));
      start = i + 1;
    }
  }
  return tokens;
}

/** A token as text, for command names and keywords (bytes above 0x7f become U+0080..U+00FF). */
export function tokenText(token: Uint8Array): string {
  let text = "";
  for (const byte of token) text += String.fromCharCode(byte);
  return text;
}

/** An unsigned decimal up to `max`, or undefined: digits only, no sign, no spaces. */
export function parseUnsigned(token: Uint8Array, max: bigint): bigint | undefined {
  let first = 0;
  // Leading zeros are allowed (strtoull takes them) but do not count towards the digit limit.
  while (first < token.length - 1 && token[first] === DIGIT_0) first++;
  if (token.length === 0 || token.length - first > UINT64_DIGITS_MAX) return undefined;
  let value = 0n;
  for (let i = first; i < token.length; i++) {
    const byte = token[i] as number;
    if (byte < DIGIT_0 || byte > DIGIT_9) return undefined;
    value = value * 10n + BigInt(byte - DIGIT_0);
  }
  return value <= max ? value : undefined;
}

/** A signed decimal int32 (exptime, delay), or undefined. */
export function parseInt32(token: Uint8Array): number | undefined {
  const negative = token[0] === MINUS;
  const magnitude = parseUnsigned(negative ? token.subarray(1) : token, 1n << 31n);
  if (magnitude === undefined) return undefined;
  const value = Number(negative ? -magnitude : magnitude);
  return value >= INT32_MIN && value <= INT32_MAX ? value : undefined;
}

/** A uint32 (client flags, byte counts), or undefined. */
export function parseUint32(token: Uint8Array): number | undefined {
  const value = parseUnsigned(token, UINT32_MAX);
  return value === undefined ? undefined : Number(value);
}

/** Why a key is refused, as the text after CLIENT_ERROR; undefined when it is fine. */
export function keyProblem(key: Uint8Array): string | undefined {
  if (key.length > KEY_BYTES_MAX) return `key is ${key.length} bytes, over memcached's limit of ${KEY_BYTES_MAX}`;
  for (const byte of key) {
    // The tokenizer already split on spaces; anything below space or DEL would break
    // VALUE lines and clients' parsers.
    if (byte < SPACE || byte === DELETE) return "key contains a control character";
  }
  return undefined;
}

export function isKeyword(token: Uint8Array | undefined, keyword: string): boolean {
  if (token === undefined || token.length !== keyword.length) return false;
  for (let i = 0; i < keyword.length; i++) {
    if (token[i] !== keyword.charCodeAt(i)) return false;
  }
  return true;
}
