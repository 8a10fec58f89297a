import type { Command } from "commander";
import { describeAuthRefusal, httpTarget, openHttp, TlsFailureError } from "../security/https-call.js";
import type { AccessOptions, ClusterAccess } from "./cluster-access.js";
import { CliError, DEFAULT_TIMEOUT_MS, describeNetworkError, discoverEndpoints, EXIT, json, request, withClusterOptions } from "./cluster-access.js";
import { parseNumber, run, utf8OrUndefined } from "./kv-commands.js";

interface WatchFlags extends AccessOptions { output: "table" | "json"; fromRevision?: number }

/** kvraft watch PREFIX: follows changes under a prefix, resuming on another member if one goes away. */
export function registerWatchCommand(program: Command): void {
  withClusterOptions(program.command("watch").argument("[prefix]", "key prefix", "")
    .description("print every change under a prefix as it happens (Ctrl-C to stop)")
    .option("--from-revision <n>", "start at this revision (default: changes from now on)", parseNumber)
    .addHelpText("after", "\nExample:\n  kvraft watch user/ --output json\n\nA dropped connection is resumed on the next member from the last revision seen + 1,\nso no event is missed or repeated. Exit status: 3 when no member answers."))
    .action(run(async (prefix: string, flags: WatchFlags) => {
      const access = await discoverEndpoints(flags);
      const { endpoints } = access;
      let next = flags.fromRevision ?? (await currentRevision(access, flags.timeout ?? DEFAULT_TIMEOUT_MS)) + 1;
      let failures = 0;
      for (let i = 0; ; i = (i + 1) % endpoints.length) {
        const endpoint = endpoints[i] as string;
        try {
          const response = await openWatch(access, endpoint, `/v1/watch?prefix=${encodeURIComponent(prefix)}&fromRevision=${next}`, flags.timeout ?? DEFAULT_TIMEOUT_MS);
          if (response.statusCode === 410) throw new CliError(EXIT.notFound, `revision ${next} was compacted away: watch from a newer revision (kvraft list shows the current one)`);
          const refusal = describeAuthRefusal(response.statusCode ?? 0, "", access.tokenSource);
          if (refusal !== undefined) throw new CliError(EXIT.refused, `${endpoint}: ${refusal}`);
          if (response.statusCode !== 200) {
            response.destroy();
            throw new Error(`HTTP ${response.statusCode ?? "?"}`);
          }
          failures = 0;
          let buffered = "";
          for await (const chunk of response) {
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
          if (error instanceof TlsFailureError) throw new CliError(EXIT.refused, error.message);
          if (++failures > endpoints.length * 5) throw new CliError(EXIT.unavailable, `no member kept the watch open (last: ${endpoint}: ${describeNetworkError(error, 0, access)})`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    }));
}

async function currentRevision(access: ClusterAccess, timeoutMs: number): Promise<number> {
  return json<{ revision: number }>(await request(access, "GET", "/v1/kv?prefix=&limit=1", undefined, timeoutMs)).revision;
}

/** The watch's answer head within `timeoutMs`; its body streams for as long as the watch lasts. */
function openWatch(access: ClusterAccess, endpoint: string, path: string, timeoutMs: number): ReturnType<typeof openHttp> {
  return openHttp(httpTarget(endpoint, path, access.tls), { method: "GET", timeoutMs, tls: access.tls, token: access.token });
}

function printEvent(event: { type: string; revision: number; key?: string; value?: string }, output: "table" | "json"): void {
  const value = event.value === undefined ? undefined : Buffer.from(event.value, "base64").toString("utf8");
  if (output === "json") {
    // As get --output json: the text when the value is UTF-8 (else null), the bytes always in valueBase64.
    const text = event.value === undefined ? undefined : utf8OrUndefined(Buffer.from(event.value, "base64")) ?? null;
    process.stdout.write(`${JSON.stringify({ ...event, ...(event.value === undefined ? {} : { value: text, valueBase64: event.value }) })}\n`);
    return;
  }
  process.stdout.write(`${event.revision}\t${event.type}\t${event.key ?? ""}${value === undefined ? "" : `\t${value}`}\n`);
}
