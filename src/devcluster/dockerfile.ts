import { posix } from "node:path";

/**
 * The Dockerfile read as data. There is no container engine on a dev-cluster node, so the
 * image is assembled by hand; reading its entrypoint, user, working directory and
 * environment from the Dockerfile keeps that file the one source of truth for them.
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

/** What the runtime stage says about how its container runs. */
export interface ImageSpec {
  readonly workdir: string;
  /** As written in USER: `uid[:gid]`. */
  readonly user: string;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  /** ENV of the stage, in order, later instructions winning. */
  readonly env: Readonly<Record<string, string>>;
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

/**
 * WORKDIR, USER, ENTRYPOINT, CMD and ENV of the final stage (the one `docker build` builds
 * by default: the runtime stage). Throws when one is missing or in a form this reader
 * does not follow, naming the instruction, so the Dockerfile can be fixed.
 */
export function runtimeImageSpec(dockerfileText: string): ImageSpec {
  const all = stages(dockerfileText);
  const stage = all[all.length - 1];
  if (stage === undefined) throw new Error("Dockerfile: no FROM instruction, so there is no runtime stage to read the image's settings from");
  const where = `Dockerfile, final stage (${stage.name ?? "unnamed"})`;
  const last = (keyword: string): string | undefined => stage.instructions.filter((i) => i.keyword === keyword).at(-1)?.rest;
  const missing = (keyword: string): Error =>
    new Error(`${where}: no ${keyword} instruction; the dev cluster's image takes its ${keyword} from it, add one`);
  const required = (keyword: string): string => {
    const value = last(keyword);
    if (value === undefined) throw missing(keyword);
    return value;
  };

  let workdir: string | undefined;
  for (const instruction of stage.instructions.filter((i) => i.keyword === "WORKDIR")) {
    // A relative WORKDIR is relative to the previous one, as Docker resolves it.
    workdir = posix.resolve(workdir ?? "/", literal(where, "WORKDIR", instruction.rest));
  }
  if (workdir === undefined) throw missing("WORKDIR");
  const env: Record<string, string> = {};
  for (const instruction of stage.instructions.filter((i) => i.keyword === "ENV")) {
    for (const [key, value] of envPairs(where, instruction.rest)) env[key] = value;
  }
  return {
    workdir,
    user: literal(where, "USER", required("USER")),
    entrypoint: execForm(where, "ENTRYPOINT", required("ENTRYPOINT")),
    cmd: execForm(where, "CMD", required("CMD")),
    env,
  };
}

/** A value Docker would expand variables in; this reader does not, so it refuses them. */
function literal(where: string, keyword: string, value: string): string {
  if (value.includes("$")) {
    throw new Error(`${where}: ${keyword} ${value} uses a variable, which the dev cluster's image builder does not expand; write the value out`);
  }
  return value;
}

/** ENTRYPOINT and CMD in exec form (a JSON array of strings): shell form needs a shell the image does not have. */
function execForm(where: string, keyword: string, rest: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((word): word is string => typeof word === "string")) {
    throw new Error(`${where}: ${keyword} ${rest} is not in exec form; write it as a JSON array of strings, ` +
      `e.g. ${keyword} ["node", "dist/cli.js"] (the image has no shell to run the shell form)`);
  }
  return parsed;
}

/** `ENV A=1 B="two words"`, or the legacy `ENV KEY value with spaces`. */
function envPairs(where: string, rest: string): [string, string][] {
  const words = [...rest.matchAll(/(?:[^\s"']+|"(?:[^"\\]|\\.)*"|'[^']*')+/g)].map((m) => m[0]);
  const first = words[0];
  if (first === undefined) throw new Error(`${where}: ENV with nothing after it; write ENV NAME=value`);
  if (!first.includes("=")) {
    const value = rest.slice(first.length).trim();
    if (value === "") throw new Error(`${where}: ENV ${first} has no value; write ENV ${first}=value`);
    return [[first, literal(where, "ENV", value)]];
  }
  return words.map((word) => {
    const equals = word.indexOf("=");
    if (equals <= 0) throw new Error(`${where}: ENV ${rest}: "${word}" is not NAME=value`);
    const value = word.slice(equals + 1).replace(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g, (_m, dq: string | undefined, sq: string | undefined) =>
      dq !== undefined ? dq.replace(/\\(.)/g, "$1") : (sq ?? ""));
    return [word.slice(0, equals), literal(where, "ENV", value)];
  });
}
