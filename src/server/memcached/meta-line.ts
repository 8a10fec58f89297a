import type { LineResult } from "./command-line.js";
import { KEY_BYTES_MAX, type MetaCommandName, type MetaEchoFlag, type MetaRequest, type MetaStoreMode, type ProtocolError } from "./requests.js";
import { UINT64_MAX, keyProblem, parseInt32, parseUint32, parseUnsigned, tokenText } from "./tokens.js";

/**
 * Reads the line of a meta command (memcached 1.6, protocol.txt "Meta Commands"):
 * `mg|md|ma|me <key> <flags>*` and `ms <key> <datalen> <flags>*`. A flag is one letter,
 * some followed by a token (`T30`, `Oabc`). Pure: bytes in, a request or the error to
 * answer out.
 *
 * Only flags that map onto KVRaft are accepted; any other flag is CLIENT_ERROR naming
 * it, so that a client never believes a flag took effect when it did not:
 * - E (set the cas value): a key's cas unique is its version, the log index of its
 *   last write; a client cannot choose it.
 * - I (invalidate), N on mg/ms, R (recache), x on md: they need item states (stale,
 *   win tokens) the store does not keep.
 * - C with an ms mode other than set, or on ma: KVRaft compares versions only on
 *   put and delete; anything else would be a read then a write, not atomic.
 * Errors are always answered, even with q: in memcached only nominal codes are quiet.
 */

/** memcached's limit on the O (opaque) token. */
export const OPAQUE_BYTES_MAX = 32;

const META_BAD_FORMAT = "CLIENT_ERROR bad command line format";

/** Flags with no token: what each asks for. */
const PLAIN_FLAGS = new Set(["b", "c", "f", "k", "q", "s", "t", "v", "u", "h", "l"]);
/** Flags followed by a token. */
const TOKEN_FLAGS = new Set(["O", "T", "F", "C", "M", "D", "J", "N"]);
/** memcached flags KVRaft refuses (see the header): named as unsupported, not as unknown. */
const UNSUPPORTED_FLAGS = new Set(["E", "I", "N", "R", "x"]);
const ECHO_FLAGS: ReadonlySet<string> = new Set<MetaEchoFlag>(["O", "k", "b", "c", "f", "t", "s"]);

/** The flags each command accepts here (see the header for why the rest are refused). */
const ACCEPTED_FLAGS: Readonly<Record<MetaCommandName, string>> = {
  // u (do not bump in the LRU) is accepted and means nothing: there is no LRU. h (hit
  // before) and l (seconds since last access) are accepted and left out of the reply:
  // the store keeps no access history, and an invented value would mislead. Clients
  // ask for them on every get (meta-memcache does) and read their absence as unknown.
  mg: "bcfkOqstvTuhl",
  ms: "bckOqTFCM",
  md: "bkOqC",
  ma: "bctkOqvNJDTM",
  me: "b",
};

const STORE_MODES: Readonly<Record<string, MetaStoreMode>> = {
  S: "set", s: "set", E: "add", e: "add", R: "replace", r: "replace", A: "append", a: "append", P: "prepend", p: "prepend",
};
const ARITHMETIC_MODES: Readonly<Record<string, "incr" | "decr">> = {
  I: "incr", i: "incr", "+": "incr", D: "decr", d: "decr", "-": "decr",
};

const fail = (reply: string, swallowBytes?: number): LineResult => ({
  type: "error",
  error: errorOf(reply),
  ...(swallowBytes === undefined ? {} : { swallowBytes }),
});

function errorOf(reply: string): ProtocolError {
  return { kind: "protocol-error", reply, noreply: false, close: false };
}

/** `mn`: no key, no flags. */
export function parseMetaNoop(args: Uint8Array[]): LineResult {
  return args.length === 0 ? { type: "request", request: { kind: "meta-noop" } } : fail(META_BAD_FORMAT);
}

export function parseMetaLine(command: MetaCommandName, args: Uint8Array[]): LineResult {
  const keyToken = args[0];
  if (keyToken === undefined) return fail(META_BAD_FORMAT);
  let flagTokens = args.slice(1);
  let bytes: number | undefined;
  if (command === "ms") {
    const sizeToken = flagTokens[0];
    const size = sizeToken === undefined ? undefined : parseUnsigned(sizeToken, BigInt(DATA_BYTES_LIMIT));
    // Without a size the data block cannot be found: nothing to skip.
    if (size === undefined) return fail("CLIENT_ERROR bad data chunk");
    bytes = Number(size);
    flagTokens = flagTokens.slice(1);
  }
  const parsed = readFlags(command, keyToken, flagTokens);
  // A refused ms still sends its data block: skip it, so that it is not read as commands.
  if (typeof parsed === "string") return fail(parsed, bytes === undefined ? undefined : bytes + 2);
  if (bytes === undefined) return { type: "request", request: parsed };
  return { type: "storage", header: { request: parsed, bytes } };
}

/** memcached refuses byte counts near INT_MAX (it adds 2 for the terminator). */
const DATA_BYTES_LIMIT = 2 ** 31 - 3;

/** The request while its flags are read; frozen into a MetaRequest at the end. */
type MutableMeta = { -readonly [K in keyof MetaRequest]: MetaRequest[K] };

/** The request, or the CLIENT_ERROR line to answer. */
function readFlags(command: MetaCommandName, keyToken: Uint8Array, tokens: Uint8Array[]): MetaRequest | string {
  const request: MutableMeta = {
    kind: "meta", command, key: keyToken, base64Key: false, quiet: false, echo: [], returnValue: false,
    storeMode: "set", arithmetic: "incr", delta: 1n, initial: 0n,
  };
  const echo: MetaEchoFlag[] = [];
  const seen = new Set<string>();
  for (const token of tokens) {
    const flag = String.fromCharCode(token[0] as number);
    const value = token.subarray(1);
    const shown = JSON.stringify(tokenText(token));
    if (!PLAIN_FLAGS.has(flag) && !TOKEN_FLAGS.has(flag) && !UNSUPPORTED_FLAGS.has(flag)) return `CLIENT_ERROR invalid flag ${shown}`;
    if (!ACCEPTED_FLAGS[command].includes(flag)) return `CLIENT_ERROR flag ${flag} is not supported on ${command} by KVRaft (see its memcached README)`;
    if (seen.has(flag)) return `CLIENT_ERROR duplicate flag ${flag}`;
    seen.add(flag);
    if (PLAIN_FLAGS.has(flag) && value.length > 0) return `CLIENT_ERROR flag ${flag} takes no token, got ${shown}`;
    if (TOKEN_FLAGS.has(flag) && value.length === 0) return `CLIENT_ERROR flag ${flag} needs a token (as in ${flag}1)`;
    if (ECHO_FLAGS.has(flag)) echo.push(flag as MetaEchoFlag);
    const problem = applyFlag(request, flag, value);
    if (problem !== undefined) return `CLIENT_ERROR ${problem}`;
  }
  request.echo = echo;
  if (request.compareCas !== undefined && command === "ms" && request.storeMode !== "set") {
    return `CLIENT_ERROR C (compare cas) works only with ms mode S (set) in KVRaft: ${request.storeMode} has no atomic compare`;
  }
  const key = request.base64Key ? decodeBase64(keyToken) : keyToken.slice();
  if (key === undefined) return "CLIENT_ERROR key is not valid base64 (flag b)";
  // A decoded key may hold any byte: only its length is checked. A plain key is a token
  // of the text protocol, with its rules.
  const problem = request.base64Key
    ? key.length === 0 || key.length > KEY_BYTES_MAX ? `decoded key is ${key.length} bytes, must be 1..${KEY_BYTES_MAX}` : undefined
    : keyProblem(key);
  if (problem !== undefined) return `CLIENT_ERROR ${problem}`;
  request.key = key;
  return request;
}

/** Sets one flag's field; answers the problem with its token, if any. */
function applyFlag(request: MutableMeta, flag: string, value: Uint8Array): string | undefined {
  const text = tokenText(value);
  switch (flag) {
    case "b":
      request.base64Key = true;
      return undefined;
    case "q":
      request.quiet = true;
      return undefined;
    case "v":
      request.returnValue = true;
      return undefined;
    case "O":
      if (value.length > OPAQUE_BYTES_MAX) return `opaque token is ${value.length} bytes, over memcached's limit of ${OPAQUE_BYTES_MAX}`;
      if (value.some((byte) => byte < 0x21 || byte > 0x7e)) return "opaque token must be printable ASCII";
      request.opaque = text;
      return undefined;
    case "T":
    case "N": {
      const seconds = parseInt32(value);
      if (seconds === undefined) return `bad ${flag} token ${JSON.stringify(text)}: want a TTL in seconds (int32)`;
      if (flag === "T") request.ttl = seconds;
      else request.vivifyTtl = seconds;
      return undefined;
    }
    case "F": {
      const flags = parseUint32(value);
      if (flags === undefined) return `bad F token ${JSON.stringify(text)}: want client flags (uint32)`;
      request.clientFlags = flags;
      return undefined;
    }
    case "C":
    case "D":
    case "J": {
      const number = parseUnsigned(value, UINT64_MAX);
      if (number === undefined) return `bad ${flag} token ${JSON.stringify(text)}: want an unsigned 64-bit number`;
      if (flag === "C") request.compareCas = number;
      else if (flag === "D") request.delta = number;
      else request.initial = number;
      return undefined;
    }
    case "M":
      return applyMode(request, text);
    default:
      // Flags that only ask for something in the reply (c, f, k, s, t, u).
      return undefined;
  }
}

function applyMode(request: MutableMeta, text: string): string | undefined {
  if (request.command === "ms") {
    const mode = text.length === 1 ? STORE_MODES[text] : undefined;
    if (mode === undefined) return `bad ms mode ${JSON.stringify(text)}: want E (add), A (append), P (prepend), R (replace) or S (set)`;
    request.storeMode = mode;
    return undefined;
  }
  const mode = text.length === 1 ? ARITHMETIC_MODES[text] : undefined;
  if (mode === undefined) return `bad ma mode ${JSON.stringify(text)}: want I or + (incr), D or - (decr)`;
  request.arithmetic = mode;
  return undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (padded, as memcached writes it); undefined when it is not. */
export function decodeBase64(token: Uint8Array): Uint8Array | undefined {
  const text = tokenText(token);
  if (!BASE64.test(text)) return undefined;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
