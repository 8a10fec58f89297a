/** The bare relay's message sizes, shared by its driver and its member processes. */

/** A client record: about one 256-byte put with its key and framing. */
export const RECORD_BYTES = 300;
/** A follower's acknowledgement and the leader's reply: a few bytes, as Raft's are. */
export const ACK_BYTES = 8;
export const REPLY_BYTES = 16;
/** Each member's file, preallocated so that a durable write never grows it; written round. */
export const FILE_BYTES = 4 << 20;
