import { writeFileSync } from "node:fs";
import type { SimShivizTrace } from "../sim/core/shiviz-trace.js";
import { SHIVIZ_URL } from "./shiviz-hint.js";

/** Writes a simulated run's ShiViz file; says what it wrote, or why it could not, on stderr. */
export function writeShivizFile(path: string, trace: SimShivizTrace): boolean {
  try {
    writeFileSync(path, trace.fileText());
  } catch (error) {
    process.stderr.write(`kvraft sim: cannot write the ShiViz file ${path}: ${(error as Error).message}; check the directory exists and is writable\n`);
    return false;
  }
  const cut = trace.enabled ? "" : " (cut short at --shiviz-events-max; the file's last event says so)";
  process.stderr.write(`shiviz: wrote ${trace.eventCount} events to ${path}${cut}; open it in ShiViz (${SHIVIZ_URL}, "Try out ShiViz")\n`);
  return true;
}
