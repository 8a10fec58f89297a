/**
 * The limit on a follower's forwarded requests, apart from the forwarder so that the
 * config can check it without loading sockets.
 */
import { type Bounds, checkBounds } from "../assert/bounds.js";

/** Bounds of forwardsInFlightMax: at least one; at most what a member can hold waiting without harm. */
export const FORWARDS_IN_FLIGHT_MAX_BOUNDS: Bounds = [1, 65_536];
export const FORWARDS_IN_FLIGHT_MAX_DEFAULT = 4096;

export function validateForwardsInFlightMax(value: number): number {
  checkBounds({ forwardsInFlightMax: value }, { forwardsInFlightMax: FORWARDS_IN_FLIGHT_MAX_BOUNDS }, (field, given, problem) => new RangeError(`${field}: ${problem}, got ${String(given)}`));
  return value;
}
