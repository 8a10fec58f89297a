import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { Option } from "commander";
import { join } from "node:path";

/** Exit codes of the client verbs, as documented in each verb's --help. */
export const EXIT = { ok: 0, notFound: 1, usage: 2, unavailable: 3 } as const;

/** A failure the CLI reports with its exit code; the message says what to do. */
export class CliError extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

export interface AccessOptions {
  coord?: string;
  endpoints?: string;
  clusterDir?: string;
  timeoutMs?: number;
}

/** The options every client verb takes to find the cluster (and, with `output`, to print). */
export function withClusterOptions(command: Command, output = true): Command {
  const withAccess = command
    .option("--coord <url>", "the coordinator (default: KVRAFT_COORD, then ./.kvraft/cluster.json)")
    .option("--endpoints <list>", "members' HTTP host:port, comma separated")
    .option("--cluster-dir <dir>", "where the local cluster keeps cluster.json", ".kvraft");
  return output ? withAccess.addOption(new Option("--output <format>", "table or json").choices(["table", "json"]).default("table")) : withAccess;
}

/**
 * Where to find the cluster: --endpoints (HTTP host:port list), then --coord or
 * KVRAFT_COORD (the coordinator's view), then the local cluster started in this
 * directory (./.kvraft/cluster.json). Members forward to the leader, so any member
 * answers; the CLI tries them in turn and reports what it tried.
 */
export async function discoverEndpoints(options: AccessOptions): Promise<string[]> {
  if (options.endpoints !== undefined && options.endpoints !== "") {
    return options.endpoints.split(",").map((e) => e.trim()).filter((e) => e !== "");
  }
  const coord = options.coord ?? process.env["KVRAFT_COORD"];
  if (coord !== undefined && coord !== "") {
    try {
      const response = await fetch(`${coord.replace(/\/$/, "")}/v1/cluster`, { signal: AbortSignal.timeout(options.timeoutMs ?? 3000) });
      const view = (await response.json()) as { leader?: { addresses?: { http?: string } } | null; members?: { addresses?: { http?: string } }[] };
      const leader = view.leader?.addresses?.http;
      const members = (view.members ?? []).map((m) => m.addresses?.http).filter((h): h is string => typeof h === "string");
      const all = [...new Set([...(leader === undefined ? [] : [leader]), ...members])];
      if (all.length > 0) return all;
    } catch (error) {
      throw new CliError(EXIT.unavailable, `the coordinator at ${coord} did not answer (${(error as Error).message}): check --coord / KVRAFT_COORD, or pass --endpoints`);
    }
  }
  const file = join(options.clusterDir ?? ".kvraft", "cluster.json");
  try {
    const cluster = JSON.parse(await readFile(file, "utf8")) as { members?: { http?: string }[] };
    const endpoints = (cluster.members ?? []).map((m) => m.http).filter((h): h is string => typeof h === "string");
    if (endpoints.length > 0) return endpoints;
  } catch {
    // Fall through to the error below.
  }
  throw new CliError(EXIT.unavailable, `no cluster to talk to: no --endpoints, no --coord or KVRAFT_COORD, and no ${file} (start one with \`npm start\` in this directory)`);
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
  readonly endpoint: string;
}

/** Sends one request to the first member that answers; 5xx and network errors try the next. */
export async function request(endpoints: readonly string[], method: string, path: string, body?: Uint8Array | string, timeoutMs = 5000): Promise<HttpAnswer> {
  const tried: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; Date.now() < deadline; round++) {
    for (const endpoint of endpoints) {
      try {
        const response = await fetch(`http://${endpoint}${path}`, {
          method, ...(body === undefined ? {} : { body }),
          headers: typeof body === "string" ? { "content-type": "application/json" } : {},
          signal: AbortSignal.timeout(Math.max(100, deadline - Date.now())),
        });
        const answer = { status: response.status, headers: response.headers, body: new Uint8Array(await response.arrayBuffer()), endpoint };
        if (answer.status < 500) return answer;
        tried.push(`${endpoint}: HTTP ${answer.status} ${errorMessage(answer)}`);
      } catch (error) {
        tried.push(`${endpoint}: ${(error as Error).message}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(200 * (round + 1), 1000)));
  }
  throw new CliError(EXIT.unavailable, `the cluster did not answer within ${timeoutMs} ms; tried:\n  ${tried.slice(-6).join("\n  ")}`);
}

export function errorMessage(answer: HttpAnswer): string {
  try {
    const json = JSON.parse(new TextDecoder().decode(answer.body)) as { error?: { message?: string } };
    return json.error?.message ?? "";
  } catch {
    return "";
  }
}

export function json<T>(answer: HttpAnswer): T {
  return JSON.parse(new TextDecoder().decode(answer.body)) as T;
}
