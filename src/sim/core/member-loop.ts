/**
 * Which ready loop drives the members' Raft cores, as `kvraft sim --json` reports it:
 * sim-node.ts's own loop today. The production loop (server/replica.ts) already runs on the
 * simulator's virtual time, disk and network with the same checks (replica-member.ts); it
 * becomes "production-replica" once Simulation drives its members through it (issue 17).
 */
export const MEMBER_LOOP: "sim-node" | "production-replica" = "sim-node";
