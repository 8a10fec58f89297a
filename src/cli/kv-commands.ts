import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import type { AccessOptions, HttpAnswer } from "./cluster-access.js";
import { CliError, discoverEndpoints, withClusterOptions, errorMessage, EXIT, json, request } from "./cluster-access.js";

type Output = "table" | "json";
interface CommonFlags extends AccessOptions { output: Output }

const decoder = new TextDecoder();

/** The client verbs: get, put, del, cas, list, watch. */
export function registerKvCommands(program: Command): void {
  withClusterOptions(program.command("get").argument("<key>").description("print a key's value")
    .option("--consistency <level>", "linearizable (default), follower or serializable", "linearizable")
    .addHelpText("after", "\nExample:\n  kvraft get greeting\n\nExit status: 0 found, 1 not found, 2 usage, 3 cluster unavailable."))
    .action(run(async (key: string, flags: CommonFlags & { consistency: string }) => {
      const endpoints = await discoverEndpoints(flags);
      const answer = await request(endpoints, "GET", `/v1/kv/${encodeKey(key)}?consistency=${encodeURIComponent(flags.consistency)}`);
      if (answer.status === 404) throw new CliError(EXIT.notFound, `key "${key}" does not exist`);
      expectOk(answer);
      const value = decoder.decode(answer.body);
      if (flags.output === "json") print({ key, value, version: Number(answer.headers.get("x-kvraft-version")), revision: Number(answer.headers.get("x-kvraft-revision")) });
      else process.stdout.write(`${value}\n`);
    }));

  withClusterOptions(program.command("put").argument("<key>").argument("<value>").description("set a key's value")
    .option("--ttl <seconds>", "the key expires this many seconds after the write", parseNumber)
    .option("--expect-version <n>", "write only if the key's version is n (0: only if absent)", parseNumber)
    .addHelpText("after", "\nExamples:\n  kvraft put greeting hello\n  kvraft put session-1 token --ttl 30\n  kvraft put config v2 --expect-version 17   # compare-and-set\n\nExit status: 0 stored, 1 version mismatch, 2 usage, 3 cluster unavailable."))
    .action(run(async (key: string, value: string, flags: CommonFlags & { ttl?: number; expectVersion?: number }) => {
      const query = new URLSearchParams();
      if (flags.ttl !== undefined) query.set("ttl", String(Math.round(flags.ttl * 1000)));
      if (flags.expectVersion !== undefined) query.set("expectVersion", String(flags.expectVersion));
      const answer = await request(await discoverEndpoints(flags), "PUT", `/v1/kv/${encodeKey(key)}?${query}`, new TextEncoder().encode(value));
      printWrite(answer, flags.output);
    }));

  withClusterOptions(program.command("del").alias("delete").argument("<key>").description("delete a key")
    .option("--expect-version <n>", "delete only if the key's version is n", parseNumber)
    .addHelpText("after", "\nExample:\n  kvraft del greeting\n\nExit status: 0 deleted, 1 not found or version mismatch, 2 usage, 3 cluster unavailable."))
    .action(run(async (key: string, flags: CommonFlags & { expectVersion?: number }) => {
      const query = flags.expectVersion === undefined ? "" : `?expectVersion=${flags.expectVersion}`;
      printWrite(await request(await discoverEndpoints(flags), "DELETE", `/v1/kv/${encodeKey(key)}${query}`), flags.output);
    }));

  withClusterOptions(program.command("cas").argument("<key>").argument("<expected-version>").argument("<value>")
    .description("compare-and-set: write value only if the key's version is expected-version (0: only if absent)")
    .addHelpText("after", "\nExample:\n  kvraft cas config 17 v2\n\nExit status: 0 stored, 1 version mismatch, 2 usage, 3 cluster unavailable."))
    .action(run(async (key: string, expected: string, value: string, flags: CommonFlags) => {
      const version = parseNumber(expected);
      const answer = await request(await discoverEndpoints(flags), "PUT", `/v1/kv/${encodeKey(key)}?expectVersion=${version}`, new TextEncoder().encode(value));
      printWrite(answer, flags.output);
    }));

  withClusterOptions(program.command("list").argument("[prefix]", "key prefix", "").description("list keys under a prefix, in key order")
    .option("--limit <n>", "at most this many keys", parseNumber, 100)
    .addHelpText("after", "\nExample:\n  kvraft list user/ --limit 10"))
    .action(run(async (prefix: string, flags: CommonFlags & { limit: number }) => {
      const answer = await request(await discoverEndpoints(flags), "GET", `/v1/kv?prefix=${encodeURIComponent(prefix)}&limit=${flags.limit}`);
      expectOk(answer);
      const page = json<{ revision: number; items: { key: string; value: string; version: number }[]; next: string | null }>(answer);
      if (flags.output === "json") {
        print({ ...page, items: page.items.map((i) => ({ ...i, value: Buffer.from(i.value, "base64").toString("utf8") })) });
        return;
      }
      for (const item of page.items) process.stdout.write(`${item.key}\t${Buffer.from(item.value, "base64").toString("utf8")}\t(version ${item.version})\n`);
      if (page.next !== null) process.stdout.write(`... more after "${page.next}" (raise --limit)\n`);
    }));
}


/** Runs a verb, turning failures into the documented exit codes. */
export function run<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      if (error instanceof InvalidArgumentError) {
        process.stderr.write(`kvraft: ${error.message}\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      if (error instanceof CliError) {
        process.stderr.write(`kvraft: ${error.message}\n`);
        process.exitCode = error.exitCode;
        return;
      }
      process.stderr.write(`kvraft: ${(error as Error).message}\n`);
      process.exitCode = EXIT.unavailable;
    }
  };
}

export function parseNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number >= 0, got "${value}"`);
  return n;
}

function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

function expectOk(answer: HttpAnswer): void {
  if (answer.status >= 200 && answer.status < 300) return;
  throw new CliError(answer.status === 400 ? EXIT.usage : EXIT.unavailable, `${answer.endpoint} answered HTTP ${answer.status}: ${errorMessage(answer)}`);
}

function printWrite(answer: HttpAnswer, output: Output): void {
  if (answer.status === 409 || answer.status === 404) {
    const error = json<{ error: { code: string; message: string; currentVersion?: number } }>(answer).error;
    if (output === "json") print({ ok: false, ...error });
    throw new CliError(EXIT.notFound, error.message);
  }
  expectOk(answer);
  const result = json<{ revision: number; version?: number }>(answer);
  if (output === "json") print(result);
  else process.stdout.write(result.version !== undefined ? `OK (version ${result.version}, revision ${result.revision})\n` : `OK (revision ${result.revision})\n`);
}

export function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
