/**
 * A Dockerfile read as data (there is no container engine here to build it): its stages
 * and their instructions, and .dockerignore's verdict on a path of the build context.
 */

export interface Instruction {
  readonly keyword: string;
  readonly rest: string;
}

export interface Stage {
  readonly base: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

/** Instructions with continuation lines joined and comments dropped. */
export function instructions(text: string): Instruction[] {
  const joined = text.split("\n").filter((line) => !/^\s*#/.test(line)).join("\n").replace(/\\\n/g, " ");
  const out: Instruction[] = [];
  for (const line of joined.split("\n")) {
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) out.push({ keyword: match[1].toUpperCase(), rest: match[2].trim() });
  }
  return out;
}

/** The stages, with ARG defaults declared before the first FROM substituted into FROM lines. */
export function stages(text: string): Stage[] {
  const globalArgs = new Map<string, string>();
  const out: { base: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const instruction of instructions(text)) {
    if (instruction.keyword === "ARG" && out.length === 0) {
      const [name, value] = instruction.rest.split("=", 2);
      if (name !== undefined && value !== undefined) globalArgs.set(name.trim(), value.trim());
      continue;
    }
    if (instruction.keyword === "FROM") {
      const [image = "", as, name] = instruction.rest.split(/\s+/);
      const base = image.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, arg: string) => globalArgs.get(arg) ?? whole);
      out.push({ base, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
      continue;
    }
    const current = out[out.length - 1];
    if (current === undefined) throw new Error(`Dockerfile: ${instruction.keyword} before the first FROM`);
    current.instructions.push(instruction);
  }
  return out;
}

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
