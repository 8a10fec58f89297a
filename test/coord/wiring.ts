import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Whether the built program (dist/) has the coordinator wired in: `kvraft coord` in
 * main.ts, and `kvraft server --coord` starting the reporter in server.ts. Those two
 * files belong to another change; the process tests that need them are skipped (with
 * this reason) until the build has them, and pass once it does.
 */
const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));

function builtFileContains(path: string, text: string): boolean {
  try {
    return readFileSync(`${DIST}${path}`, "utf8").includes(text);
  } catch {
    return false;
  }
}

export const coordCommandWired = builtFileContains("cli/main.js", "registerCoordCommand");
export const reporterWired = builtFileContains("server/server.js", "startCoordReporter");
export const WIRING_NOTE = "needs registerCoordCommand in src/cli/main.ts and startCoordReporter in src/server/server.ts, then `npm run build`";
