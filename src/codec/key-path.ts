/**
 * A key in an HTTP path (`/v1/kv/{key}`), byte for byte. Keys are bytes, never paths:
 * URL normalisation (WHATWG URLs in fetch, proxies, `curl --path-as-is` or not) removes
 * `.` and `..` segments and may fold `/`, so `x/../victim` would reach the server as
 * `victim`. The encoder therefore percent-encodes every byte except the unreserved
 * letters, digits, `-`, `_` and `~` (`.` included, `/` included): the key is one opaque
 * path segment. A key that is only dots (`%2E%2E`) is still a dot segment to a WHATWG URL
 * parser, so senders must not pass the path through one (the CLI uses node:http).
 *
 * The decoder turns a path back into the exact bytes: `%XX` is that byte (not
 * necessarily UTF-8), anything else its UTF-8 encoding, so paths written by hand
 * (`/v1/kv/user/1`) keep meaning what they meant.
 */

const utf8 = new TextEncoder();
/** Bytes that no URL parser or proxy rewrites inside a path segment (RFC 3986 unreserved, minus "."). */
const KEPT = /^[A-Za-z0-9_~-]$/;
const HEX = "0123456789ABCDEF";

export function encodeKeyPath(key: string | Uint8Array): string {
  const bytes = typeof key === "string" ? utf8.encode(key) : key;
  let out = "";
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && KEPT.test(char) ? char : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/** The bytes a path (after `/v1/kv/`, before `?`) names; a `%` not followed by two hex digits is an error. */
export function decodeKeyPath(path: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < path.length;) {
    if (path[i] === "%") {
      const hex = path.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new RangeError(`the key's path has "%" not followed by two hex digits at offset ${i}: percent-encode "%" as %25`);
      out.push(Number.parseInt(hex, 16));
      i += 3;
      continue;
    }
    const codePoint = path.codePointAt(i) as number;
    const char = String.fromCodePoint(codePoint);
    out.push(...utf8.encode(char));
    i += char.length;
  }
  return Uint8Array.from(out);
}
