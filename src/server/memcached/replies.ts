import { joinBytes } from "../../codec/bytes.js";

/**
 * Replies of memcached's text protocol and their bytes. Every reply ends in "\r\n";
 * text lines are cleaned of control characters first, so that no message (an error
 * text from below, say) can split into two replies and desynchronise a client.
 */

/** One item of a get/gets/gat/gats answer. */
export interface ValueItem {
  readonly key: Uint8Array;
  readonly flags: number;
  readonly value: Uint8Array;
  /** Present for gets/gats: the key's version, which a later `cas` sends back. */
  readonly casUnique?: number;
}

export type Reply =
  /** One line: STORED, NOT_FOUND, a counter value, VERSION x, ERROR, CLIENT_ERROR x... */
  | { readonly kind: "line"; readonly text: string }
  /** VALUE blocks for the hits, then END. */
  | { readonly kind: "values"; readonly items: readonly ValueItem[] }
  /** STAT lines, then END. */
  | { readonly kind: "stats"; readonly stats: readonly StatLine[] }
  /** A meta reply: `<code> <flags>*`, or `VA <size> <flags>*` and the value. */
  | { readonly kind: "meta"; readonly code: MetaCode; readonly flags: readonly string[]; readonly value?: Uint8Array }
  /** Nothing is sent: a noreply request. */
  | { readonly kind: "none" };

/**
 * Meta reply codes (protocol.txt): HD success without value, VA value follows, EN miss
 * (mg), NS not stored, EX cas mismatch, NF not found, MN the answer to mn, ME debug.
 */
export type MetaCode = "HD" | "VA" | "EN" | "NS" | "EX" | "NF" | "MN" | "ME";

export type StatLine = readonly [name: string, value: string | number];

export const line = (text: string): Reply => ({ kind: "line", text });
export const NO_REPLY: Reply = { kind: "none" };

/** The fixed replies, by their protocol names. */
export const REPLIES = {
  stored: line("STORED"),
  notStored: line("NOT_STORED"),
  exists: line("EXISTS"),
  notFound: line("NOT_FOUND"),
  deleted: line("DELETED"),
  touched: line("TOUCHED"),
  ok: line("OK"),
  reset: line("RESET"),
  error: line("ERROR"),
} as const;

const CRLF = "\r\n";
const encoder = new TextEncoder();

export function serializeReply(reply: Reply): Uint8Array {
  switch (reply.kind) {
    case "none":
      return new Uint8Array(0);
    case "line":
      return encoder.encode(cleanLine(reply.text) + CRLF);
    case "stats":
      return encoder.encode(reply.stats.map(([name, value]) => `STAT ${cleanLine(name)} ${cleanLine(String(value))}${CRLF}`).join("") + `END${CRLF}`);
    case "values":
      return serializeValues(reply.items);
    case "meta":
      return serializeMeta(reply.code, reply.flags, reply.value);
  }
}

/**
 * The header goes out byte for byte as latin1: a plain key flag (k) may carry bytes above
 * 0x7f, which the client sent and must get back unchanged (UTF-8 would change them).
 */
function serializeMeta(code: MetaCode, flags: readonly string[], value: Uint8Array | undefined): Uint8Array {
  const words = value === undefined ? [code, ...flags] : [code, String(value.length), ...flags];
  const header = latin1Bytes(cleanLine(words.join(" ")) + CRLF);
  return value === undefined ? header : joinBytes([header, value, encoder.encode(CRLF)]);
}

function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

/** `VALUE <key> <flags> <bytes> [<cas unique>]\r\n<data>\r\n` per item, then `END\r\n`. */
function serializeValues(items: readonly ValueItem[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const crlf = encoder.encode(CRLF);
  for (const item of items) {
    const cas = item.casUnique === undefined ? "" : ` ${item.casUnique}`;
    // Keys were checked on the way in (no spaces or control bytes): they go out as they came.
    parts.push(encoder.encode("VALUE "), item.key, encoder.encode(` ${item.flags} ${item.value.length}${cas}${CRLF}`), item.value, crlf);
  }
  parts.push(encoder.encode(`END${CRLF}`));
  return joinBytes(parts);
}

/** Control characters (CR and LF above all) become spaces. */
function cleanLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]/g, " ");
}
