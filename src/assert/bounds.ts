/**
 * The one bounds validator: every numeric limit of every config (raft, kv, storage,
 * transport, the client ports, the client library, the server's flags) has a minimum and
 * a maximum, checked here with one message that names the field and its unit. Pure, so
 * that raft/ and kv/ may use it.
 */

/** Inclusive bounds of one numeric setting: [min, max]. */
export type Bounds = readonly [min: number, max: number];

/** The fields of `Options` that hold numbers (optional ones too). */
export type NumericField<Options> = {
  [K in keyof Options]-?: NonNullable<Options[K]> extends number ? K : never;
}[keyof Options];

/** Bounds for every numeric field of `Options`: a new limit without bounds fails to compile. */
export type NumericBounds<Options> = { readonly [K in NumericField<Options>]: Bounds };

/**
 * A limit's unit, read from its name (the project names limits with the unit and the
 * qualifier last: `requestTimeoutMs`, `frameBytesMax`, `electionTicks`). Empty when the
 * name carries none (a count of things the name already says, an id, a port).
 */
export function unitOf(field: string): string {
  const base = field.replace(/(Max|Min)$/, "");
  for (const [suffix, unit] of UNIT_SUFFIXES) if (base.endsWith(suffix)) return unit;
  return "";
}

const UNIT_SUFFIXES: readonly (readonly [string, string])[] = [
  ["Ms", "ms"], ["Bytes", "bytes"], ["Mib", "MiB"], ["Ticks", "ticks"], ["Entries", "entries"], ["Seconds", "s"],
];

/** What is wrong with `value` for `field`, or undefined when it is an integer within `bounds`. */
export function boundsProblem(field: string, value: unknown, [min, max]: Bounds): string | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max) return undefined;
  const unit = unitOf(field);
  return `must be an integer in [${min}, ${max}]${unit === "" ? "" : ` ${unit}`}`;
}

/**
 * Checks every field named in `bounds` (in its order) and throws `fail(field, value,
 * problem)` for the first one that is not an integer within its bounds. Fields named in
 * `optionalFields` may be undefined (their default is set elsewhere).
 */
export function checkBounds<Options extends object>(
  values: Options,
  bounds: NumericBounds<Options> | { readonly [field: string]: Bounds },
  fail: (field: string, value: unknown, problem: string) => Error,
  optionalFields: readonly string[] = [],
): void {
  for (const [field, fieldBounds] of Object.entries(bounds) as [string, Bounds | undefined][]) {
    const value: unknown = (values as Record<string, unknown>)[field];
    if (fieldBounds === undefined || (value === undefined && optionalFields.includes(field))) continue;
    const problem = boundsProblem(field, value, fieldBounds);
    if (problem !== undefined) throw fail(field, value, problem);
  }
}
