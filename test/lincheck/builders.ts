import type { KvInput, Operation } from "../../src/lincheck/index.js";

/**
 * Terse constructors for hand-written histories. An interval is [callTime, returnTime];
 * the `...Unknown` forms record a timeout: no output, returnTime Infinity.
 */
export type Interval = readonly [callTime: number, returnTime: number];

function known(input: KvInput, output: Operation["output"], [callTime, returnTime]: Interval, clientId: number): Operation {
  return { clientId, input, output, callTime, returnTime };
}

function unknown(input: KvInput, callTime: number, clientId: number): Operation {
  return { clientId, input, output: undefined, callTime, returnTime: Number.POSITIVE_INFINITY };
}

export function put(key: string, value: string, version: number, interval: Interval, clientId = 0): Operation {
  return known({ op: "put", key, value }, { op: "put", version }, interval, clientId);
}

export function putUnknown(key: string, value: string, callTime: number, clientId = 0): Operation {
  return unknown({ op: "put", key, value }, callTime, clientId);
}

/** `seen` is [value, version], or undefined for "not found". */
export function get(key: string, seen: readonly [string, number] | undefined, interval: Interval, clientId = 0): Operation {
  const output = seen === undefined ? { op: "get" as const, found: false as const } : { op: "get" as const, found: true as const, value: seen[0], version: seen[1] };
  return known({ op: "get", key }, output, interval, clientId);
}

/** `result` is the new version for ok:true, or false for a version mismatch. */
export function cas(key: string, expectVersion: number, value: string, result: number | false, interval: Interval, clientId = 0): Operation {
  const output = result === false ? { op: "cas" as const, ok: false as const } : { op: "cas" as const, ok: true as const, version: result };
  return known({ op: "cas", key, expectVersion, value }, output, interval, clientId);
}

export function casUnknown(key: string, expectVersion: number, value: string, callTime: number, clientId = 0): Operation {
  return unknown({ op: "cas", key, expectVersion, value }, callTime, clientId);
}

export function del(key: string, deleted: boolean, interval: Interval, clientId = 0): Operation {
  return known({ op: "delete", key }, { op: "delete", deleted }, interval, clientId);
}

export function delUnknown(key: string, callTime: number, clientId = 0): Operation {
  return unknown({ op: "delete", key }, callTime, clientId);
}
