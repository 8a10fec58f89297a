import { KvServiceError } from "../errors.js";

/**
 * The leader refused a request a follower forwarded for its caller: the caller's
 * credential or role (the leader checks them itself). Retrying will not help.
 */
export class AccessDeniedError extends KvServiceError {
  override readonly name = "AccessDeniedError";
  readonly retryable = false;
  constructor(readonly code: "UNAUTHENTICATED" | "PERMISSION_DENIED", message: string) {
    super(message);
  }
}
