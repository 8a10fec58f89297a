/**
 * Which ready loop drives the members' Raft cores, as `kvraft sim --json` reports it: the
 * production Replica (server/replica.ts) and its KV service, on the simulator's virtual
 * scheduler, asynchronous disk and network (replica-member.ts).
 */
export const MEMBER_LOOP = "production-replica";
