/**
 * The commands KVRaft's containers run, gathered from manifests (the chart's, the
 * operator's), and checked against what the program accepts: the first argument a verb
 * it has, every flag one that verb takes (with a value when it wants one), every KVRAFT_*
 * variable one it reads. The image's entrypoint is `node dist/cli.js`, so a container's
 * args are the program's arguments and its `command` must not replace the entrypoint.
 */
import type { KubeObject } from "../../src/operator/types.js";
import type { CliHelp } from "./cli-help.js";

export interface ContainerCommand {
  /** Where it comes from, for messages: "chart Deployment/kvr-kvraft-operator container operator". */
  readonly source: string;
  readonly command?: readonly string[];
  readonly args: readonly string[];
  readonly envNames: readonly string[];
}

interface ContainerLike {
  readonly name?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly { readonly name: string }[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every container and init container anywhere in these objects (Deployments, StatefulSets, Pods, Jobs...). */
export function containerCommands(objects: readonly KubeObject[], origin: string): ContainerCommand[] {
  const found: ContainerCommand[] = [];
  const visit = (value: unknown, owner: string): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, owner);
      return;
    }
    if (!isRecord(value)) return;
    for (const key of ["containers", "initContainers"]) {
      const list = value[key];
      if (!Array.isArray(list)) continue;
      for (const container of list as ContainerLike[]) {
        found.push({
          source: `${owner} container ${container.name ?? "?"}`,
          ...(container.command === undefined ? {} : { command: container.command }),
          args: container.args ?? [],
          envNames: (container.env ?? []).map((e) => e.name),
        });
      }
    }
    for (const [key, child] of Object.entries(value)) if (key !== "containers" && key !== "initContainers") visit(child, owner);
  };
  for (const object of objects) visit(object, `${origin} ${object.kind}/${object.metadata.name}`);
  return found;
}

/**
 * Splits a command line as a user types it (`kvraft put k v --endpoints x`) into its
 * arguments after the program's name; quotes are not needed by the lines we check.
 */
export function commandLineArgs(line: string): string[] {
  return line.trim().split(/\s+/).slice(1);
}

/** What is wrong with one command (empty: nothing). */
export async function commandProblems(cmd: ContainerCommand, help: CliHelp): Promise<string[]> {
  const problems: string[] = [];
  const at = `${cmd.source} (args: ${JSON.stringify(cmd.args)})`;
  if (cmd.command !== undefined) problems.push(`${at}: sets command ${JSON.stringify(cmd.command)}, replacing the image's entrypoint (node dist/cli.js); pass the verb in args instead`);
  const [verb, ...rest] = cmd.args;
  const verbs = await help.commands();
  if (verb === undefined || !verbs.has(verb)) {
    problems.push(`${at}: "${verb ?? "(none)"}" is not a verb of kvraft (it has: ${[...verbs].sort().join(", ")})`);
    return problems;
  }
  const path = [verb];
  let verbHelp = await help.verb(path);
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (!arg.startsWith("-")) {
      // A positional argument: a subcommand when the verb has one by that name.
      if (verbHelp.subcommands.has(arg)) {
        path.push(arg);
        verbHelp = await help.verb(path);
      }
      continue;
    }
    const [flag, inlineValue] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const takesValue = verbHelp.flags.get(flag);
    if (takesValue === undefined) {
      problems.push(`${at}: \`kvraft ${path.join(" ")}\` has no flag ${flag} (it has: ${[...verbHelp.flags.keys()].sort().join(" ")})`);
    } else if (takesValue && inlineValue === undefined) {
      const next = rest[i + 1];
      if (next === undefined || next.startsWith("--")) problems.push(`${at}: ${flag} wants a value`);
      i++;
    } else if (!takesValue && inlineValue !== undefined) {
      problems.push(`${at}: ${flag} is a switch and takes no value (given "${inlineValue}")`);
    }
  }
  for (const name of cmd.envNames) {
    if (name.startsWith("KVRAFT_") && !verbHelp.envVars.has(name)) {
      problems.push(`${at}: \`kvraft ${path.join(" ")}\` reads no ${name} (it reads: ${[...verbHelp.envVars].sort().join(" ")})`);
    }
  }
  return problems;
}
