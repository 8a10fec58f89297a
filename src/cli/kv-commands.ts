import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import { encodeKeyPath } from "../codec/key-path.js";
import type { AccessOptions, HttpAnswer } from "./cluster-access.js";
import { CliError, discoverEndpoints, withClusterOptions, errorMessage, EXIT, json, kvraftError, request } from "./cluster-access.js";

type Output = "table" | "json";
interface CommonFlags extends AccessOptions { output: Output }

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const lossyUtf8 = new TextDecoder();

const VALUE_HELP = `a value: the text as typed, - to read stdin, @FILE to read a file (bytes unchanged;
no size limit from the shell: the server takes up to its --value-bytes-max)`;
const VALUE_EXAMPLES = `  echo hello | kvraft put greeting -          # stores "hello\\n"
  kvraft put avatar @avatar.png              # a file's bytes
  printf %s @home | kvraft put at-sign -     # a value that begins with @ (or is -) goes through stdin`;

/** The client verbs: get, put, del, cas, list (watch is in watch-command.ts). */
export function registerKvCommands(program: Command): void {
  withClusterOptions(program.command("get").argument("<key>").description("print a key's value")
    .addOption(new Option("--consistency <level>", "linearizable: the latest write; serializable or follower: what the member that answers has, faster, maybe stale")
      .choices(["linearizable", "serializable", "follower"]).default("linearizable"))
    .option("--raw", "write the value's bytes unchanged, without a newline (binary values, files)")
    .addHelpText("after", `
Examples:
  kvraft get greeting
  kvraft get avatar --raw > avatar.png       # bytes unchanged
  kvraft get greeting --output json          # {"found":true,"key":...,"value":text or null,"valueBase64":...}

The table output prints the value as UTF-8 text and a newline; a value that is not
UTF-8 is printed with U+FFFD and a warning: use --raw or --output json (valueBase64).

Exit status: 0 found, 1 not found (with --output json: {"found":false,...}), 2 usage, 3 cluster unavailable.`))
    .action(run(async (key: string, flags: CommonFlags & { consistency: string; raw?: boolean }) => {
      const endpoints = await discoverEndpoints(flags);
      const answer = await request(endpoints, "GET", `${keyPath(key)}?consistency=${encodeURIComponent(flags.consistency)}`, undefined, flags.timeout);
      if (kvraftError(answer)?.code === "KEY_NOT_FOUND") {
        if (flags.output === "json") print({ found: false, key, revision: Number(answer.headers.get("x-kvraft-revision")) });
        throw new CliError(EXIT.notFound, `key "${key}" does not exist`);
      }
      expectOk(answer);
      if (!answer.headers.has("x-kvraft-version")) {
        throw new CliError(EXIT.unavailable, `${answer.endpoint} answered HTTP ${answer.status} without a KVRaft version header: not a KVRaft server? check the port (the HTTP API is --http-port)`);
      }
      const version = Number(answer.headers.get("x-kvraft-version"));
      const revision = Number(answer.headers.get("x-kvraft-revision"));
      if (flags.raw === true) {
        process.stdout.write(answer.body);
        return;
      }
      const text = utf8OrUndefined(answer.body);
      if (flags.output === "json") {
        print({ found: true, key, value: text ?? null, valueBase64: Buffer.from(answer.body).toString("base64"), version, revision });
        return;
      }
      if (text === undefined) process.stderr.write("kvraft: the value is not UTF-8 text; shown with U+FFFD: use --raw for the bytes or --output json (valueBase64)\n");
      process.stdout.write(`${text ?? lossyUtf8.decode(answer.body)}\n`);
    }));

  withClusterOptions(program.command("put").argument("<key>").argument("<value>", VALUE_HELP).description("set a key's value")
    .option("--ttl <seconds>", "the key expires this many seconds after the write", parseNumber)
    .option("--expect-version <n>", "write only if the key's version is n (0: only if absent)", parseNumber)
    .addHelpText("after", `
Examples:
  kvraft put greeting hello
${VALUE_EXAMPLES}
  kvraft put session-1 token --ttl 30
  kvraft put config v2 --expect-version 17   # compare-and-set

Exit status: 0 stored, 1 version mismatch, 2 usage, 3 cluster unavailable.`))
    .action(run(async (key: string, value: string, flags: CommonFlags & { ttl?: number; expectVersion?: number }) => {
      const path = keyPath(key);
      const bytes = await valueBytes(value);
      const query = new URLSearchParams();
      if (flags.ttl !== undefined) query.set("ttl", String(Math.round(flags.ttl * 1000)));
      if (flags.expectVersion !== undefined) query.set("expectVersion", String(flags.expectVersion));
      const answer = await request(await discoverEndpoints(flags), "PUT", `${path}?${query}`, bytes, flags.timeout);
      printWrite(answer, flags.output);
    }));

  withClusterOptions(program.command("del").alias("delete").argument("<key>").description("delete a key")
    .option("--expect-version <n>", "delete only if the key's version is n", parseNumber)
    .addHelpText("after", "\nExample:\n  kvraft del greeting\n\nExit status: 0 deleted, 1 not found or version mismatch, 2 usage, 3 cluster unavailable."))
    .action(run(async (key: string, flags: CommonFlags & { expectVersion?: number }) => {
      const path = keyPath(key);
      const query = flags.expectVersion === undefined ? "" : `?expectVersion=${flags.expectVersion}`;
      printWrite(await request(await discoverEndpoints(flags), "DELETE", `${path}${query}`, undefined, flags.timeout), flags.output);
    }));

  withClusterOptions(program.command("cas").argument("<key>").argument("<expected-version>").argument("<value>", VALUE_HELP)
    .description("compare-and-set: write value only if the key's version is expected-version (0: only if absent)")
    .addHelpText("after", "\nExamples:\n  kvraft cas config 17 v2\n  kvraft cas config 17 @config.json\n\nExit status: 0 stored, 1 version mismatch, 2 usage, 3 cluster unavailable."))
    .action(run(async (key: string, expected: string, value: string, flags: CommonFlags) => {
      const path = keyPath(key);
      const version = parseNumber(expected);
      const bytes = await valueBytes(value);
      const answer = await request(await discoverEndpoints(flags), "PUT", `${path}?expectVersion=${version}`, bytes, flags.timeout);
      printWrite(answer, flags.output);
    }));

  withClusterOptions(program.command("list").argument("[prefix]", "key prefix", "").description("list keys under a prefix, in key order")
    .option("--limit <n>", "at most this many keys", parseNumber, 100)
    .addHelpText("after", "\nExamples:\n  kvraft list user/ --limit 10\n  kvraft list user/ --output json   # each value as text (null if not UTF-8) and valueBase64"))
    .action(run(async (prefix: string, flags: CommonFlags & { limit: number }) => {
      const answer = await request(await discoverEndpoints(flags), "GET", `/v1/kv?prefix=${encodeURIComponent(prefix)}&limit=${flags.limit}`, undefined, flags.timeout);
      expectOk(answer);
      const page = json<{ revision: number; items: { key: string; value: string; version: number }[]; next: string | null }>(answer);
      if (flags.output === "json") {
        print({ ...page, items: page.items.map((i) => {
          const bytes = Buffer.from(i.value, "base64");
          return { ...i, value: utf8OrUndefined(bytes) ?? null, valueBase64: i.value };
        }) });
        return;
      }
      for (const item of page.items) process.stdout.write(`${item.key}\t${Buffer.from(item.value, "base64").toString("utf8")}\t(version ${item.version})\n`);
      if (page.next !== null) process.stdout.write(`... more after "${page.next}" (raise --limit)\n`);
    }));
}

/** The request path of a key; an empty key is a usage error, not a request for "/v1/kv/". */
function keyPath(key: string): string {
  if (key === "") throw new InvalidArgumentError("the key is empty: a key is at least one byte (any bytes: \"..\", \"a/b\" and spaces are keys like any other)");
  return `/v1/kv/${encodeKeyPath(key)}`;
}

/** The bytes of a value argument: `-` is stdin, `@FILE` a file, anything else the text itself. */
async function valueBytes(value: string): Promise<Uint8Array> {
  if (value === "-") {
    if (process.stdin.isTTY === true) process.stderr.write("kvraft: reading the value from stdin; end it with Ctrl-D\n");
    const parts: Buffer[] = [];
    for await (const chunk of process.stdin) parts.push(chunk as Buffer);
    return new Uint8Array(Buffer.concat(parts));
  }
  if (value.startsWith("@")) {
    const file = value.slice(1);
    try {
      return new Uint8Array(await readFile(file));
    } catch (error) {
      throw new CliError(EXIT.usage, `cannot read the value from ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): @FILE reads a file; to store text that begins with @, pipe it: printf %s '${value}' | kvraft put KEY -`);
    }
  }
  return new TextEncoder().encode(value);
}

/** The value as text when it is valid UTF-8; binary values have no faithful text form. */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
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

function expectOk(answer: HttpAnswer): void {
  if (answer.status >= 200 && answer.status < 300) return;
  throw new CliError(answer.status === 400 ? EXIT.usage : EXIT.unavailable, `${answer.endpoint} answered HTTP ${answer.status}: ${errorMessage(answer)}`);
}

function printWrite(answer: HttpAnswer, output: Output): void {
  if ((answer.status === 409 || answer.status === 404) && kvraftError(answer) !== undefined) {
    const error = json<{ error: { code: string; message: string; currentVersion?: number } }>(answer).error;
    if (output === "json") print({ ok: false, ...error });
    throw new CliError(EXIT.notFound, error.message);
  }
  expectOk(answer);
  const result = json<{ revision: number; version?: number }>(answer);
  if (output === "json") print(result);
  else process.stdout.write(result.version !== undefined ? `OK (version ${result.version}, revision ${result.revision})\n` : `OK (revision ${result.revision})\n`);
}

/** A verb's result: the JSON object with --output json, else the text for a reader. */
export function report(output: Output, value: unknown, text: string): void {
  if (output === "json") print(value);
  else process.stdout.write(text);
}

export function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
