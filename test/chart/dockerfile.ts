/**
 * A Dockerfile read as data (there is no container engine here to build it): its stages
 * and their instructions, and .dockerignore's verdict on a path of the build context.
 */

import type { Stage } from "../../src/devcluster/dockerfile.js";

// The image builder of the dev cluster reads the same Dockerfile, so the parser lives in src/.
export { instructions, stages, type Instruction, type Stage } from "../../src/devcluster/dockerfile.js";

export interface CopyInstruction {
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly destination: string;
}

export function copies(stage: Stage): CopyInstruction[] {
  return stage.instructions.filter((i) => i.keyword === "COPY").map((i) => {
    const words = i.rest.split(/\s+/);
    const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
    const paths = words.filter((w) => !w.startsWith("--"));
    return { from, sources: paths.slice(0, -1), destination: paths[paths.length - 1] ?? "" };
  });
}

export function runs(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.keyword === "RUN").map((i) => i.rest);
}

function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*" && pattern[i + 1] === "*") { source += ".*"; i++; }
    else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/**
 * Whether .dockerignore keeps a path of the context out. As Docker decides it: the last
 * pattern that matches the path or one of its parent directories wins; `!` readmits.
 */
export function isIgnored(dockerignore: string, path: string): boolean {
  const patterns = dockerignore.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  const parts = path.replace(/^\.?\/+/, "").replace(/\/+$/, "").split("/");
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+/, "").replace(/\/+$/, "");
    if (candidates.some((candidate) => globToRegExp(pattern).test(candidate))) ignored = !negated;
  }
  return ignored;
}
