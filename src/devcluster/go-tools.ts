import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * The repository's Go tool builder (tools/go-tools.mjs), found from src/devcluster/ or
 * dist/devcluster/. The dev cluster runs real Kubernetes binaries built from Go modules;
 * they are built once per machine and cached, so this works from a clone of the
 * repository, not from an installed package.
 */
export const GO_TOOLS_SCRIPT = fileURLToPath(new URL("../../tools/go-tools.mjs", import.meta.url));
/** The folder of the pinned wrapper modules, one per tool. */
export const GO_TOOLS_DIR = fileURLToPath(new URL("../../tools/go/", import.meta.url));

/** What this package uses of tools/go-tools.mjs (typed in tools/go-tools.d.mts). */
interface GoToolsModule {
  cacheRoot(): string;
  builtBinary(name: string, binary: string): string | undefined;
  ensureTool(name: string, log?: (line: string) => void): Promise<string>;
  toolBinary(name: string, binary: string): Promise<string>;
}

let loaded: Promise<GoToolsModule> | undefined;

/** Loads the builder at run time, so dist/ does not depend on the tools folder when it is loaded. */
export function goTools(): Promise<GoToolsModule> {
  if (!existsSync(GO_TOOLS_SCRIPT)) {
    return Promise.reject(new Error(`${GO_TOOLS_SCRIPT} is missing: the dev cluster's Kubernetes binaries are built from the ` +
      "Go modules pinned in a clone of the KVRaft repository; run it from a clone"));
  }
  loaded ??= import(pathToFileURL(GO_TOOLS_SCRIPT).href) as Promise<GoToolsModule>;
  return loaded;
}

/** Path of one binary of a tool, building the tool first if needed (minutes when cold). */
export async function toolBinary(name: string, binary: string): Promise<string> {
  return (await goTools()).toolBinary(name, binary);
}
