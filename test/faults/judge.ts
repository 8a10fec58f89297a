import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { checkHistory, formatCheckResult, type Operation, type Verdict } from "../../src/lincheck/index.js";
import { toolBinary } from "../../tools/go-tools.mjs";

/** Porcupine's own time limit; past it the verdict is "unknown", which fails the run. */
const PORCUPINE_TIMEOUT_SECONDS = 180;

export interface Judgement {
  readonly porcupine: Verdict;
  readonly lincheck: Verdict;
  /** Both decided and they differ: a bug in one of the two checkers. */
  readonly disagree: boolean;
  readonly historyPath: string;
  /** Porcupine's HTML visualisation, written when it found the history illegal. */
  readonly visualizationPath: string | undefined;
  readonly porcupineMs: number;
  /** src/lincheck's explanation (the key, the operations around the problem) when not ok. */
  readonly lincheckReport: string | undefined;
}

interface PorcupineLine {
  verdict: Verdict;
  visualization: string | null;
  elapsedMs: number;
}

/** The history as tools/go/porcupine-check reads it: integer µs, null for an unknown return. */
export function historyJson(operations: readonly Operation[]): string {
  const lines = operations.map((op, i) => {
    if (!Number.isSafeInteger(op.callTime) || !(Number.isSafeInteger(op.returnTime) || op.returnTime === Number.POSITIVE_INFINITY)) {
      throw new Error(`history operation ${i}: times must be integers (µs) for porcupine, got ${op.callTime}..${op.returnTime}`);
    }
    return JSON.stringify({
    clientId: op.clientId,
    input: op.input,
    output: op.output ?? null,
    call: op.callTime,
    return: Number.isFinite(op.returnTime) ? op.returnTime : null,
    });
  });
  return `{"operations":[\n${lines.join(",\n")}\n]}\n`;
}

/**
 * Judges a history with porcupine (the independent judge) and with the project's own
 * checker (src/lincheck), writing the history to `historyPath` first and porcupine's
 * visualisation to `visualizationPath` when it is illegal.
 */
export async function judge(recorded: readonly Operation[], historyPath: string, visualizationPath: string): Promise<Judgement> {
  // A read with an unknown outcome changed nothing: both checkers get the history without it.
  const operations = recorded.filter((op) => !(op.input.op === "get" && op.output === undefined));
  await writeFile(historyPath, historyJson(operations));
  const binary = await toolBinary("porcupine-check", "porcupine-check");
  const started = Date.now();
  const line = await new Promise<PorcupineLine>((resolve, reject) => {
    execFile(binary, ["--history", historyPath, "--visualize", visualizationPath, "--timeout-seconds", String(PORCUPINE_TIMEOUT_SECONDS)],
      { encoding: "utf8", maxBuffer: 1 << 20, timeout: (PORCUPINE_TIMEOUT_SECONDS + 60) * 1000 },
      (error, stdout, stderr) => {
        if (error !== null) return reject(new Error(`porcupine-check failed on ${historyPath}: ${stderr.trim() || error.message}`));
        try {
          resolve(JSON.parse(stdout.trim()) as PorcupineLine);
        } catch {
          reject(new Error(`porcupine-check printed no verdict for ${historyPath}: ${stdout.slice(0, 200)}`));
        }
      });
  });
  const checked = checkHistory(operations);
  const lincheck = checked.verdict;
  const decided = (v: Verdict): boolean => v !== "unknown";
  return {
    porcupine: line.verdict,
    lincheck,
    disagree: decided(line.verdict) && decided(lincheck) && line.verdict !== lincheck,
    historyPath,
    visualizationPath: line.visualization ?? undefined,
    porcupineMs: Date.now() - started,
    lincheckReport: lincheck === "ok" ? undefined : formatCheckResult(checked),
  };
}
