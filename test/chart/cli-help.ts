/**
 * What the built program (dist/cli.js, the image's entrypoint) says it accepts, read
 * from its --help: the verbs, and for each verb its flags (whether each takes a value),
 * its environment variables and its subcommands.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "./chart-render.js";

const run = promisify(execFile);
export const CLI = join(REPO_ROOT, "dist", "cli.js");

export interface VerbHelp {
  /** Flag (long form, with the dashes) -> whether it takes a value. */
  readonly flags: ReadonlyMap<string, boolean>;
  readonly envVars: ReadonlySet<string>;
  readonly subcommands: ReadonlySet<string>;
}

export async function helpText(args: readonly string[]): Promise<string> {
  if (!existsSync(CLI)) throw new Error(`${CLI} does not exist: run \`npm run build\` first`);
  const { stdout } = await run(process.execPath, [CLI, ...args, "--help"], { cwd: REPO_ROOT });
  return stdout;
}

/** The lines of one section ("Options:", "Commands:") of commander's help. */
function section(text: string, title: string): string[] {
  const lines = text.split("\n");
  const start = lines.indexOf(title);
  if (start < 0) return [];
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === "" || !line.startsWith(" ")) break;
    out.push(line);
  }
  return out;
}

/** Command names (aliases too) listed under "Commands:"; `help` is commander's own. */
export function parseCommands(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of section(text, "Commands:")) {
    const match = /^ {2}([a-z][a-z0-9|-]*)/.exec(line);
    if (match?.[1] === undefined) continue;
    for (const name of match[1].split("|")) if (name !== "help") names.add(name);
  }
  return names;
}

export function parseVerbHelp(text: string): VerbHelp {
  const flags = new Map<string, boolean>();
  for (const line of section(text, "Options:")) {
    // A flag's own line is indented two spaces; wrapped descriptions are indented further.
    const match = /^ {2}(?:-[a-zA-Z], )?(--[a-z0-9-]+)( [<[])?/.exec(line);
    if (match?.[1] !== undefined) flags.set(match[1], match[2] !== undefined);
  }
  const envVars = new Set<string>();
  for (const match of text.replace(/\s+/g, " ").matchAll(/env: ([A-Z][A-Z0-9_]*)/g)) {
    if (match[1] !== undefined) envVars.add(match[1]);
  }
  return { flags, envVars, subcommands: parseCommands(text) };
}

/** Help for every verb (and subcommand) asked for, fetched once each. */
export class CliHelp {
  private readonly verbs = new Map<string, Promise<VerbHelp>>();
  private topLevel: Promise<Set<string>> | undefined;

  commands(): Promise<Set<string>> {
    this.topLevel ??= helpText([]).then(parseCommands);
    return this.topLevel;
  }

  verb(path: readonly string[]): Promise<VerbHelp> {
    const key = path.join(" ");
    let help = this.verbs.get(key);
    if (help === undefined) {
      help = helpText(path).then(parseVerbHelp);
      this.verbs.set(key, help);
    }
    return help;
  }
}
