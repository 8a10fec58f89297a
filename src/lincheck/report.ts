import type { KvInput, KvOutput, Operation } from "./history.js";
import type { CheckResult } from "./check.js";

/**
 * Turns a check result into text for a test failure or a harness log. Lines are capped
 * so that a failure in a history of thousands of operations still prints readably: the
 * ops nearest the failure (the end of the prefix, the pending ops) are the ones shown.
 */

/** How many ops of the linearizable prefix to print, counted back from its end. */
export const REPORT_PREFIX_OPERATIONS_MAX = 10;
/** How many pending ops to print. */
export const REPORT_PENDING_OPERATIONS_MAX = 10;

const BLOCKED_BECAUSE = {
  refused: "the specification does not allow it in that state",
  strands: "the key's version would then have passed what these ops saw or wrote:",
  "dead end": "no way to continue after it was found",
  "version passed": "it was called after this op returned, which had taken the key past that version (versions only grow):",
} as const;

function formatInput(input: KvInput): string {
  const key = JSON.stringify(input.key);
  switch (input.op) {
    case "get":
      return `get(${key})`;
    case "put":
      return `put(${key}, ${JSON.stringify(input.value)})`;
    case "cas":
      return `cas(${key}, expect v${input.expectVersion}, ${JSON.stringify(input.value)})`;
    case "delete":
      return `delete(${key})`;
  }
}

function formatOutput(output: KvOutput | undefined): string {
  if (output === undefined) return "outcome unknown";
  switch (output.op) {
    case "get":
      return output.found ? `${JSON.stringify(output.value)} v${output.version}` : "not found";
    case "put":
      return `v${output.version}`;
    case "cas":
      return output.ok ? `ok v${output.version}` : "version mismatch";
    case "delete":
      return output.deleted ? "deleted" : "not found";
  }
}

export function formatOperation(operation: Operation): string {
  const interval = `[${operation.callTime}, ${operation.returnTime}]`;
  return `client ${operation.clientId} ${formatInput(operation.input)} -> ${formatOutput(operation.output)} ${interval}`;
}

function formatList(title: string, operations: readonly Operation[], shownMax: number, fromEnd: boolean): string[] {
  const shown = fromEnd ? operations.slice(-shownMax) : operations.slice(0, shownMax);
  const hidden = operations.length - shown.length;
  const lines = [`${title} (${operations.length}):`];
  if (fromEnd && hidden > 0) lines.push(`  ... ${hidden} earlier`);
  lines.push(...shown.map((operation) => `  ${formatOperation(operation)}`));
  if (!fromEnd && hidden > 0) lines.push(`  ... ${hidden} more`);
  return lines;
}

export function formatCheckResult(result: CheckResult): string {
  const summary = `linearizability: ${result.verdict} (${result.keys} keys, ${result.steps} search steps)`;
  const partial = result.partial;
  if (partial === undefined) return summary;
  const why =
    result.verdict === "illegal"
      ? `key ${JSON.stringify(partial.key)} has no linearization`
      : `key ${JSON.stringify(partial.key)}: step budget exhausted before a verdict; raise stepBudget or shorten the history`;
  const lines = [summary, why];
  if (partial.blockedBecause !== "version passed") {
    lines.push(...formatList("longest linearizable prefix found", partial.longestPrefix, REPORT_PREFIX_OPERATIONS_MAX, true));
    lines.push(`state after it: ${partial.stateAfterPrefix}`);
  }
  if (partial.blockedOperation !== undefined) {
    lines.push(`cannot place next: ${formatOperation(partial.blockedOperation)}`);
    lines.push(`  because ${BLOCKED_BECAUSE[partial.blockedBecause ?? "dead end"]}`);
    lines.push(...partial.relatedOperations.slice(0, REPORT_PENDING_OPERATIONS_MAX).map((operation) => `    ${formatOperation(operation)}`));
  }
  if (partial.pendingOperations.length > 0) {
    lines.push(...formatList("other ops that could go before it", partial.pendingOperations, REPORT_PENDING_OPERATIONS_MAX, false));
  }
  return lines.join("\n");
}
