/**
 * The limit on a follower's forwarded requests, apart from the forwarder so that the
 * config can check it without loading sockets.
 */

/** Bounds of forwardsInFlightMax: at least one; at most what a member can hold waiting without harm. */
export const FORWARDS_IN_FLIGHT_MAX_BOUNDS = { min: 1, max: 65_536 } as const;
export const FORWARDS_IN_FLIGHT_MAX_DEFAULT = 4096;

export function validateForwardsInFlightMax(value: number): number {
  const { min, max } = FORWARDS_IN_FLIGHT_MAX_BOUNDS;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`forwardsInFlightMax: must be a whole number of requests from ${min} to ${max}, got ${value}`);
  }
  return value;
}
