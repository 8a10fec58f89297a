/**
 * What the operator throws when it cannot go on, by what a person does about it. A
 * programmer's mistake inside the operator is an InvariantError (src/assert) instead.
 */

/** The operator's own failures; `name` says which kind. */
export class OperatorError extends Error {
  override readonly name: string = "OperatorError";
}

/** No usable kubeconfig or cluster to talk to: a flag or the environment must change. */
export class KubeconfigError extends OperatorError {
  override readonly name = "KubeconfigError";
}

/** A resource's spec the operator cannot act on; the message names the resource and field. */
export class SpecError extends OperatorError {
  override readonly name = "SpecError";
}

/** An object the operator would manage already exists and belongs to something else. */
export class OwnershipConflictError extends OperatorError {
  override readonly name = "OwnershipConflictError";
}
