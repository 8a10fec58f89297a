/**
 * The wait before redialling a peer after `failures` failed attempts in a row: the
 * minimum doubled per failure, capped at the maximum, with "equal jitter" (half fixed,
 * half random). The jitter spreads the redials of many nodes that lost the same peer at
 * the same moment; the fixed half keeps a down peer from being hammered.
 *
 * `random` returns a number in [0, 1); the transport passes Math.random (IO edge), tests
 * pass fixed values.
 */
export function reconnectDelayMs(
  failures: number,
  limits: { readonly reconnectDelayMsMin: number; readonly reconnectDelayMsMax: number },
  random: () => number,
): number {
  // 2^30 times any minimum is past any maximum: stop doubling there, so the power stays finite.
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const capped = Math.min(limits.reconnectDelayMsMax, limits.reconnectDelayMsMin * 2 ** exponent);
  return Math.round(capped / 2 + random() * (capped / 2));
}
