import type { Command } from "commander";
import type { AccessOptions } from "./cluster-access.js";
import { CliError, discoverEndpoints, EXIT, withClusterOptions } from "./cluster-access.js";
import { parseNumber, run } from "./kv-commands.js";

interface WatchFlags extends AccessOptions { output: "table" | "json"; fromRevision?: number }

/** kvraft watch PREFIX: follows changes under a prefix, resuming on another member if one goes away. */
export function registerWatchCommand(program: Command): void {
  withClusterOptions(program.command("watch").argument("[prefix]", "key prefix", "")
    .description("print every change under a prefix as it happens (Ctrl-C to stop)")
    .option("--from-revision <n>", "start at this revision (default: changes from now on)", parseNumber)
    .addHelpText("after", "\nExample:\n  kvraft watch user/ --output json\n\nA dropped connection is resumed on the next member from the last revision seen + 1,\nso no event is missed or repeated. Exit status: 3 when no member answers."))
    .action(run(async (prefix: string, flags: WatchFlags) => {
      const endpoints = await discoverEndpoints(flags);
      let next = flags.fromRevision ?? (await currentRevision(endpoints)) + 1;
      let failures = 0;
      for (let i = 0; ; i = (i + 1) % endpoints.length) {
        const endpoint = endpoints[i] as string;
        try {
          const response = await fetch(`http://${endpoint}/v1/watch?prefix=${encodeURIComponent(prefix)}&fromRevision=${next}`);
          if (response.status === 410) throw new CliError(EXIT.notFound, `revision ${next} was compacted away: watch from a newer revision (kvraft list shows the current one)`);
          if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
          failures = 0;
          let buffered = "";
          for await (const chunk of response.body) {
            buffered += Buffer.from(chunk as Uint8Array).toString("utf8");
            let newline: number;
            while ((newline = buffered.indexOf("\n")) >= 0) {
              const line = buffered.slice(0, newline);
              buffered = buffered.slice(newline + 1);
              const event = JSON.parse(line) as { type: string; revision: number; key?: string; value?: string; error?: string };
              if (event.error !== undefined) throw new Error(event.error);
              next = event.revision + 1;
              printEvent(event, flags.output);
            }
          }
        } catch (error) {
          if (error instanceof CliError) throw error;
          if (++failures > endpoints.length * 5) throw new CliError(EXIT.unavailable, `no member kept the watch open (last: ${endpoint}: ${(error as Error).message})`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    }));
}

async function currentRevision(endpoints: readonly string[]): Promise<number> {
  for (const endpoint of endpoints) {
    try {
      const response = await fetch(`http://${endpoint}/v1/kv?prefix=&limit=1`, { signal: AbortSignal.timeout(3000) });
      if (response.ok) return ((await response.json()) as { revision: number }).revision;
    } catch {
      // Try the next member.
    }
  }
  throw new CliError(EXIT.unavailable, `no member answered: tried ${endpoints.join(", ")}`);
}

function printEvent(event: { type: string; revision: number; key?: string; value?: string }, output: "table" | "json"): void {
  const value = event.value === undefined ? undefined : Buffer.from(event.value, "base64").toString("utf8");
  if (output === "json") {
    process.stdout.write(`${JSON.stringify({ ...event, ...(value === undefined ? {} : { value }) })}\n`);
    return;
  }
  process.stdout.write(`${event.revision}\t${event.type}\t${event.key ?? ""}${value === undefined ? "" : `\t${value}`}\n`);
}
