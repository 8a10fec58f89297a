/**
 * A linearizability checker for KV histories. Record one `Operation` per request, then:
 *
 *   const result = checkHistory(history);
 *   if (result.verdict !== "ok") throw new Error(formatCheckResult(result));
 *
 * "unknown" means the search ran out of budget: treat it as a failure to verify, never
 * as a pass. See model.ts for the sequential specification the history is held to.
 */
export type { KvInput, KvOutput, Operation } from "./history.js";
export { InvalidHistoryError, validateHistory } from "./history.js";
export type { CheckOptions, CheckResult, KeyDiagnostic, Verdict } from "./check.js";
export { checkHistory, DEFAULT_STEP_BUDGET } from "./check.js";
export { formatCheckResult, formatOperation } from "./report.js";
