/**
 * The V8 flags a member's process runs with. V8 reads them only at start, so every
 * launcher of `kvraft server` puts them on the node command line: `kvraft local`, the
 * benchmark, the container image's ENTRYPOINT (the Dockerfile; a test keeps the two
 * alike), and the server's own re-exec with a heap limit (heap-limit.ts).
 *
 * --initial-old-space-size=64: V8 starts a full mark-compact once the old generation
 * plus the external memory allocated since the last one comes near a limit it derives
 * from the live heap. A member's heap is small (tens of MiB) while the values it moves
 * live in ArrayBuffers outside it, so with large values that limit was always near: with
 * 64 KiB values (put-64KiB-16) each member ran a mark-compact every 50-80 ms, and a
 * follower spent 650-1,000 µs of CPU per put. With a 64 MiB floor for the limit the
 * mark-compacts fell to about a third or half, a follower's CPU per put to 350-400 µs and
 * throughput rose 1.3-1.6x; with 300,000 256-byte keys the members' RSS right after
 * writing them, and put-64's CPU per put, stayed the same within the machine's noise.
 * (Set at run time with v8.setFlagsFromString it has no effect: measured.)
 */
export const MEMBER_NODE_FLAGS: readonly string[] = ["--initial-old-space-size=64"];

/** `execArgv` with each of MEMBER_NODE_FLAGS added that it does not set already (by name). */
export function withMemberNodeFlags(execArgv: readonly string[]): string[] {
  const named = new Set(execArgv.map(flagName));
  return [...execArgv, ...MEMBER_NODE_FLAGS.filter((flag) => !named.has(flagName(flag)))];
}

function flagName(flag: string): string {
  return flag.split("=")[0] as string;
}
