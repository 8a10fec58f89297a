import { ensureTool, listTools } from "../../tools/go-tools.mjs";

/**
 * Before any test: build (or find cached) every Go-built test tool, so that no test's
 * hook times out on a cold build. CI builds them in an earlier step with a time budget;
 * on a fresh machine `npm test` pays for the build here, once, with progress on stderr.
 */
export default async function setup(): Promise<void> {
  for (const name of listTools()) await ensureTool(name);
}
