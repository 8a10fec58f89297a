/**
 * Errors the kv layer throws for code to catch. Operating outcomes of a command
 * (a version mismatch, a missing key) are not errors: they are `KvFailure` results,
 * because every replica must reach them identically and the client must see them.
 * These classes are for input that cannot be processed at all, and for broken
 * invariants, which mean a bug and should stop the process.
 */

/** Base class of every error thrown by the kv layer. */
export class KvError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A `KvConfig` field is out of range; `field` names it. */
export class KvConfigError extends KvError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`kv config: ${field} ${message}`);
  }
}

/** Bytes that are not a well-formed encoding; `offset` is where reading failed. */
export class KvDecodeError extends KvError {
  constructor(
    readonly what: string,
    readonly offset: number,
    reason: string,
  ) {
    super(`cannot decode ${what} at byte ${offset}: ${reason}`);
  }
}

/** A command envelope (a Raft entry's data) is malformed. */
export class CommandDecodeError extends KvDecodeError {}

/** A snapshot is malformed or violates the state machine's invariants. */
export class SnapshotDecodeError extends KvDecodeError {}

/**
 * A command holds a value that the binary format cannot represent (a negative or
 * fractional number, flags above 2^32 - 1, ...). Thrown by `encodeCommand`, so the
 * leader finds out before proposing, never a replica while applying.
 */
export class InvalidCommandError extends KvError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`invalid command: ${field} ${message}`);
  }
}

/** A read was called with an argument out of range (a list limit of 0, ...). */
export class KvArgumentError extends KvError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`kv read: ${field} ${message}`);
  }
}

/** A later page of a listing asked for a revision this replica no longer holds. */
export class ListingExpiredError extends KvError {
  constructor(readonly revision: number, readonly appliedIndex: number) {
    super(`the listing's revision ${revision} is no longer held here (pages are kept for a while on the member that served the first page; this one is at ${appliedIndex}): list again from the first page`);
  }
}
