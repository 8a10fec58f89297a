/**
 * Which ready loop drives the members' Raft cores, as `kvraft sim --json` reports it: the
 * production Replica (server/replica.ts) and its KV service, on the simulator's virtual
 * scheduler, asynchronous disk and network (replica-member.ts).
 */
export const MEMBER_LOOP = "production-replica";

/**
 * What the simulated clients run, as `kvraft sim --json` reports it: the client library's
 * call path (client/: LeaderFinder, LeaderRouter, runCall's retries, SessionWriter's
 * exactly-once sessions) on the simulator's clock and connections (clients.ts).
 */
export const CLIENT_PATH = "client-library";
