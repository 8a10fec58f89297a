import { parseMetaLine, parseMetaNoop } from "./meta-line.js";
import type { MetaRequest, ProtocolError, Request, StorageCommandName, StorageRequest } from "./requests.js";
import {
  UINT64_MAX,
  isKeyword,
  keyProblem,
  parseInt32,
  parseUint32,
  parseUnsigned,
  splitTokens,
  tokenText,
} from "./tokens.js";

/**
 * Reads one request line (without its line terminator) into a request. Arity follows
 * memcached: a known command with the wrong number of tokens is answered ERROR, like
 * an unknown one; a bad key or number is CLIENT_ERROR.
 */

/** A storage line (or `ms`): the parser reads `bytes` of data and the terminator next. */
export interface StorageHeader {
  readonly request: Omit<StorageRequest, "data"> | MetaRequest;
  readonly bytes: number;
}

export type LineResult =
  | { readonly type: "request"; readonly request: Request }
  | { readonly type: "storage"; readonly header: StorageHeader }
  /**
   * `swallowBytes` is set for a storage line whose byte count was readable: its data
   * block still follows and is skipped, so that it is not read as commands.
   */
  | { readonly type: "error"; readonly error: ProtocolError; readonly swallowBytes?: number };

/** memcached refuses byte counts near INT_MAX (it adds 2 for the terminator). */
const DATA_BYTES_LIMIT = 2 ** 31 - 3;
const BAD_FORMAT = "CLIENT_ERROR bad command line format";
const STORAGE_COMMANDS: ReadonlySet<string> = new Set(["set", "add", "replace", "append", "prepend", "cas"]);

export function protocolError(reply: string, noreply = false, close = false): ProtocolError {
  return { kind: "protocol-error", reply, noreply, close };
}

const unknownCommand = (): LineResult => ({ type: "error", error: protocolError("ERROR") });
const clientError = (text: string): LineResult => ({ type: "error", error: protocolError(`CLIENT_ERROR ${text}`) });
const badFormat = (): LineResult => ({ type: "error", error: protocolError(BAD_FORMAT) });
const request = (value: Request): LineResult => ({ type: "request", request: value });

export function parseCommandLine(line: Uint8Array, getKeysMax: number): LineResult {
  const tokens = splitTokens(line);
  const first = tokens[0];
  if (first === undefined) return unknownCommand();
  const name = tokenText(first);
  const args = tokens.slice(1);
  if (STORAGE_COMMANDS.has(name)) return parseStorage(name as StorageCommandName, args);
  switch (name) {
    case "get":
    case "gets":
      return parseRetrieval(name, args, getKeysMax);
    case "gat":
    case "gats":
      return parseGetAndTouch(name, args, getKeysMax);
    case "delete":
      return parseDelete(args);
    case "incr":
    case "decr":
      return parseCounter(name, args);
    case "touch":
      return parseTouch(args);
    case "flush_all":
      return parseFlushAll(args);
    case "version":
      return args.length === 0 ? request({ kind: "version" }) : unknownCommand();
    case "verbosity":
      return parseVerbosity(args);
    case "stats":
      return parseStats(args);
    case "quit":
      return args.length === 0 ? request({ kind: "quit" }) : unknownCommand();
    case "mg":
    case "ms":
    case "md":
    case "ma":
    case "me":
      return parseMetaLine(name, args);
    case "mn":
      return parseMetaNoop(args);
    default:
      return unknownCommand();
  }
}

/** `<cmd> <key> <flags> <exptime> <bytes> [noreply]`, cas with `<cas unique>` before noreply. */
function parseStorage(command: StorageCommandName, args: Uint8Array[]): LineResult {
  const fixedCount = command === "cas" ? 5 : 4;
  if (args.length !== fixedCount && args.length !== fixedCount + 1) return unknownCommand();
  const [keyToken, flagsToken, exptimeToken, bytesToken, casToken] = args as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array?];
  const bytesValue = parseUnsigned(bytesToken, BigInt(DATA_BYTES_LIMIT));
  // Without a byte count the data block cannot be found: it will be read as commands.
  if (bytesValue === undefined) return badFormat();
  const bytes = Number(bytesValue);
  const refuse = (reply: string): LineResult => ({ type: "error", error: protocolError(reply), swallowBytes: bytes + 2 });
  const noreplyToken = args[fixedCount];
  if (noreplyToken !== undefined && !isKeyword(noreplyToken, "noreply")) return refuse(BAD_FORMAT);
  const problem = keyProblem(keyToken);
  if (problem !== undefined) return refuse(`CLIENT_ERROR ${problem}`);
  const flags = parseUint32(flagsToken);
  const exptime = parseInt32(exptimeToken);
  if (flags === undefined || exptime === undefined) return refuse(BAD_FORMAT);
  const base = { kind: "storage", command, key: keyToken.slice(), flags, exptime, noreply: noreplyToken !== undefined } as const;
  if (command !== "cas") return { type: "storage", header: { request: base, bytes } };
  const casUnique = parseUnsigned(casToken as Uint8Array, UINT64_MAX);
  if (casUnique === undefined) return refuse(BAD_FORMAT);
  return { type: "storage", header: { request: { ...base, casUnique }, bytes } };
}

/** Checks every key; returns copies (the line buffer is reused) or the first problem. */
function readKeys(tokens: Uint8Array[], getKeysMax: number): Uint8Array[] | LineResult {
  if (tokens.length === 0) return unknownCommand();
  if (tokens.length > getKeysMax) {
    return clientError(`${tokens.length} keys in one request, over the limit of ${getKeysMax} (getKeysMax): split the request`);
  }
  for (const token of tokens) {
    const problem = keyProblem(token);
    if (problem !== undefined) return clientError(problem);
  }
  return tokens.map((token) => token.slice());
}

function parseRetrieval(command: "get" | "gets", args: Uint8Array[], getKeysMax: number): LineResult {
  const keys = readKeys(args, getKeysMax);
  return Array.isArray(keys) ? request({ kind: "retrieval", command, keys }) : keys;
}

function parseGetAndTouch(command: "gat" | "gats", args: Uint8Array[], getKeysMax: number): LineResult {
  if (args.length < 2) return unknownCommand();
  const exptime = parseInt32(args[0] as Uint8Array);
  if (exptime === undefined) return badFormat();
  const keys = readKeys(args.slice(1), getKeysMax);
  return Array.isArray(keys) ? request({ kind: "get-and-touch", command, exptime, keys }) : keys;
}

/** `delete <key> [0] [noreply]`: memcached still takes a hold time, but only 0. */
function parseDelete(args: Uint8Array[]): LineResult {
  if (args.length < 1 || args.length > 3) return unknownCommand();
  const rest = args.slice(1);
  if (rest.length > 0 && isKeyword(rest[0], "0")) rest.shift();
  const noreply = rest.length === 1 && isKeyword(rest[0], "noreply");
  if (rest.length > (noreply ? 1 : 0)) {
    return clientError("bad command line format.  Usage: delete <key> [noreply]");
  }
  const key = args[0] as Uint8Array;
  const problem = keyProblem(key);
  if (problem !== undefined) return clientError(problem);
  return request({ kind: "delete", key: key.slice(), noreply });
}

function parseCounter(command: "incr" | "decr", args: Uint8Array[]): LineResult {
  if (args.length !== 2 && args.length !== 3) return unknownCommand();
  const noreply = trailingNoreply(args, 2);
  if (noreply === undefined) return badFormat();
  const key = args[0] as Uint8Array;
  const problem = keyProblem(key);
  if (problem !== undefined) return clientError(problem);
  const delta = parseUnsigned(args[1] as Uint8Array, UINT64_MAX);
  if (delta === undefined) return clientError("invalid numeric delta argument");
  return request({ kind: "counter", command, key: key.slice(), delta, noreply });
}

function parseTouch(args: Uint8Array[]): LineResult {
  if (args.length !== 2 && args.length !== 3) return unknownCommand();
  const noreply = trailingNoreply(args, 2);
  if (noreply === undefined) return badFormat();
  const key = args[0] as Uint8Array;
  const problem = keyProblem(key);
  if (problem !== undefined) return clientError(problem);
  const exptime = parseInt32(args[1] as Uint8Array);
  if (exptime === undefined) return clientError("invalid exptime argument");
  return request({ kind: "touch", key: key.slice(), exptime, noreply });
}

/** `flush_all [delay] [noreply]`. */
function parseFlushAll(args: Uint8Array[]): LineResult {
  if (args.length > 2) return unknownCommand();
  const noreply = isKeyword(args[args.length - 1], "noreply");
  const numbers = noreply ? args.slice(0, -1) : args;
  if (numbers.length > 1) return badFormat();
  const delay = numbers[0] === undefined ? 0 : parseInt32(numbers[0]);
  if (delay === undefined) return badFormat();
  return request({ kind: "flush-all", delay, noreply });
}

/**
 * `verbosity <level> [noreply]`, and `verbosity noreply` (libmemcached sends the level
 * only when it has one; memcached then reads the level as 0): accepted and ignored, this
 * server does not log per request.
 */
function parseVerbosity(args: Uint8Array[]): LineResult {
  if (args.length === 1 && isKeyword(args[0], "noreply")) return request({ kind: "verbosity", noreply: true });
  if (args.length !== 1 && args.length !== 2) return unknownCommand();
  const noreply = trailingNoreply(args, 1);
  if (noreply === undefined || parseUint32(args[0] as Uint8Array) === undefined) return badFormat();
  return request({ kind: "verbosity", noreply });
}

/** Groups without data here (no slabs, no LRU) answer an empty list, so that tools keep working. */
const EMPTY_STATS_GROUPS: ReadonlySet<string> = new Set(["items", "slabs", "sizes", "conns", "extstore"]);

function parseStats(args: Uint8Array[]): LineResult {
  if (args.length === 0) return request({ kind: "stats", group: "general" });
  if (args.length > 1) return unknownCommand();
  const group = tokenText(args[0] as Uint8Array);
  if (group === "settings" || group === "reset") return request({ kind: "stats", group });
  if (EMPTY_STATS_GROUPS.has(group)) return request({ kind: "stats", group: "empty" });
  return unknownCommand();
}

/**
 * For commands with `fixedCount` arguments and an optional noreply: whether it is
 * present, or undefined when the extra token is something else.
 */
function trailingNoreply(args: Uint8Array[], fixedCount: number): boolean | undefined {
  if (args.length === fixedCount) return false;
  return isKeyword(args[fixedCount], "noreply") ? true : undefined;
}
