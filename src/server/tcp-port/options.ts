import { checkBounds, type NumericBounds } from "../../assert/bounds.js";

export type { NumericBounds } from "../../assert/bounds.js";

/** Bounds of the limits every client port has, whatever its protocol. */
export const PORT_BOUNDS: readonly [number, number] = [0, 65_535];
export const CONNECTIONS_MAX_BOUNDS: readonly [number, number] = [1, 1_000_000];
export const REQUEST_TIMEOUT_MS_BOUNDS: readonly [number, number] = [1, 24 * 60 * 60 * 1000];
/** A client connection silent this long (nothing running on it) is closed. */
export const IDLE_TIMEOUT_MS_DEFAULT = 5 * 60_000;
export const IDLE_TIMEOUT_MS_BOUNDS: readonly [number, number] = [10, 7 * 24 * 60 * 60 * 1000];

export interface PortOptionsSpec<Options> {
  /** The options given; undefined fields take their default. */
  readonly input: object;
  readonly defaults: Partial<Options>;
  /** Fields allowed without a default (callbacks). */
  readonly fieldsWithoutDefault?: readonly string[];
  readonly bounds: NumericBounds<Options>;
  /** Names the port in "is not a <port> option". */
  readonly portName: string;
  /** The port's own error class, naming the field. */
  readonly fail: (field: string, message: string) => Error;
}

/**
 * The defaults filled in and what every client port checks: no unknown field, each
 * numeric field an integer within its bounds, a non-empty host. Throws `fail(field, ...)`
 * for the first field out of range; the port checks its own relations afterwards.
 */
export function validatePortOptions<Options extends { readonly host: string }>(spec: PortOptionsSpec<Options>): Options {
  const known = new Set([...Object.keys(spec.defaults), ...(spec.fieldsWithoutDefault ?? [])]);
  for (const field of Object.keys(spec.input)) {
    if (!known.has(field)) throw spec.fail(field, `is not a ${spec.portName} option`);
  }
  const defined = Object.fromEntries(Object.entries(spec.input).filter(([, value]) => value !== undefined));
  const options = { ...spec.defaults, ...defined } as Options;
  checkBounds(options, spec.bounds, (field, value, problem) => spec.fail(field, `${problem}, got ${String(value)}`));
  if (typeof options.host !== "string" || options.host.length === 0) throw spec.fail("host", "must be a non-empty address");
  return options;
}
