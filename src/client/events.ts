/**
 * What the client reports instead of logging (libraries do not log): connections,
 * redirects, retries and sessions, as typed events to the `onEvent` option. A program
 * decides whether they become log lines, metrics or nothing.
 */
export type ClientEvent =
  /** A connection to a member is ready; `leaderId` is who the member says leads. */
  | { readonly type: "connected"; readonly address: string; readonly memberId: number; readonly leaderId: number }
  | { readonly type: "disconnected"; readonly address: string; readonly reason: string }
  /** A member answered REDIRECT; the client goes to `to` (or rediscovers when it is unknown). */
  | { readonly type: "redirected"; readonly from: string; readonly leaderId: number; readonly to: string | undefined }
  /** A round of leader discovery found no leader; calls retry until their deadline. */
  | { readonly type: "discovery-failed"; readonly tried: readonly string[]; readonly reason: string }
  /** A call failed in a way worth retrying and will be tried again after `delayMs`. */
  | { readonly type: "retrying"; readonly operation: string; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  | { readonly type: "session-registered"; readonly sessionId: number }
  /** The session was unknown to the cluster (expired or evicted); a new one is registered. */
  | { readonly type: "session-expired"; readonly sessionId: number }
  /** A watch reconnected and continues from `fromRevision`. */
  | { readonly type: "watch-resumed"; readonly fromRevision: number; readonly reason: string };

export type ClientEventListener = (event: ClientEvent) => void;
