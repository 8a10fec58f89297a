import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "../../src/cli/cluster-access.js";
import { createClient } from "../../src/client/index.js";
import { encodeKeyPath } from "../../src/codec/key-path.js";
import { CLI, ProcessCluster } from "../support/process-cluster.js";
import { freePorts } from "../support/ports.js";
import { waitFor } from "../support/wait.js";

interface Run { code: number | null; stdout: Buffer; stderr: string }
interface RunOptions { stdin?: Uint8Array; env?: Record<string, string>; closeStdout?: boolean; stopWhen?: (stdout: string) => boolean }

/** Runs `kvraft ...args`; stdout is kept as bytes (binary values), stdin fed when given. */
function kvraft(args: readonly string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    if (options.env?.["KVRAFT_ENDPOINTS"] === undefined) delete env["KVRAFT_ENDPOINTS"];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["pipe", "pipe", "pipe"], env });
    const out: Buffer[] = [];
    let stderr = "";
    // A reader that went away before the first byte (as `| head -0` would): every write is EPIPE.
    if (options.closeStdout === true) child.stdout.destroy();
    else {
      child.stdout.on("data", (chunk: Buffer) => {
        out.push(chunk);
        if (options.stopWhen?.(Buffer.concat(out).toString()) === true) child.kill("SIGINT");
      });
    }
    child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
    child.stdin.end(options.stdin === undefined ? undefined : Buffer.from(options.stdin));
    child.once("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
}

/** Issue 16: keys never rewritten, values from stdin and files, binary-safe output, flags and errors users expect. */
describe("the kvraft CLI at the edges a user touches", () => {
  let cluster: ProcessCluster;
  let endpoint: string;
  let endpoints: string[];
  let scratch: string;
  beforeAll(async () => {
    cluster = await ProcessCluster.create(1);
    cluster.startAll();
    await cluster.waitForLeader();
    endpoint = `127.0.0.1:${cluster.ports.get(1)?.http}`;
    endpoints = ["--endpoints", endpoint];
    scratch = await mkdtemp(join(tmpdir(), "kvraft-cli-edges-"));
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  const getText = async (key: string): Promise<Run> => kvraft(["get", key, ...endpoints]);

  describe("keys are bytes, never paths", () => {
    it("put x/../victim stores that key and leaves victim alone; . and .. are keys", async () => {
      expect((await kvraft(["put", "x/../victim", "surprise", ...endpoints])).code).toBe(0);
      expect((await getText("victim")).code).toBe(1);
      expect((await getText("x/../victim")).stdout.toString()).toBe("surprise\n");
      for (const key of [".", "..", "/", "a//b", "a/./b", "%2e%2E", "?q=1#f", " spaced key ", "ключ/🙂"]) {
        const put = await kvraft(["put", key, `value of ${key}`, ...endpoints]);
        expect(put.code, `${key}: ${put.stderr}`).toBe(0);
        expect((await getText(key)).stdout.toString(), key).toBe(`value of ${key}\n`);
      }
      const listed = JSON.parse((await kvraft(["list", "", "--limit", "1000", "--output", "json", ...endpoints])).stdout.toString()) as { items: { key: string }[] };
      expect(listed.items.map((i) => i.key)).toEqual(expect.arrayContaining(["x/../victim", ".", "..", "/", "a/./b", "%2e%2E", "?q=1#f"]));
      expect((await kvraft(["del", "..", ...endpoints])).code).toBe(0);
      expect((await getText("..")).code).toBe(1);
    }, 60_000);

    it("an empty key is a usage error (exit 2) that says so", async () => {
      for (const args of [["put", "", "v"], ["get", ""], ["del", ""], ["cas", "", "0", "v"]]) {
        const run = await kvraft([...args, ...endpoints]);
        expect(run.code, args.join(" ")).toBe(2);
        expect(run.stderr).toContain("the key is empty");
      }
    });

    it("the server answers an empty key with 400 and a message, and a malformed %-escape with 400", async () => {
      for (const path of ["/v1/kv/", "/v1/kv/a%ZZ", "/v1/kv/%F"]) {
        const answer = await request([endpoint], "PUT", path, Buffer.from("v"));
        expect(answer.status, path).toBe(400);
        expect((JSON.parse(Buffer.from(answer.body).toString()) as { error: { code: string } }).error.code).toBe("INVALID_ARGUMENT");
      }
    });

    it("any text key round-trips through the HTTP API exactly (property)", async () => {
      const tricky = fc.constantFrom(".", "..", "/", "%", "%2e", "%2F", "?", "#", " ", "+", "&", "=", "\\", "é", "🙂", "\u0000", "a");
      const keys = fc.oneof(
        fc.array(tricky, { minLength: 1, maxLength: 8 }).map((parts) => parts.join("")),
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }),
      );
      await fc.assert(fc.asyncProperty(keys, async (key) => {
        const value = new TextEncoder().encode(key);
        const put = await request([endpoint], "PUT", `/v1/kv/${encodeKeyPath(key)}`, value);
        expect(put.status, key).toBe(200);
        const got = await request([endpoint], "GET", `/v1/kv/${encodeKeyPath(key)}`);
        expect(Buffer.from(got.body).equals(Buffer.from(value)), key).toBe(true);
        // The stored key, as the server lists it, is the key sent: nothing was rewritten.
        const listed = await request([endpoint], "GET", `/v1/kv?prefix=${encodeURIComponent(key)}&limit=1`);
        expect((JSON.parse(Buffer.from(listed.body).toString()) as { items: { key: string }[] }).items[0]?.key).toBe(key);
      }), { numRuns: 150 });
    }, 120_000);

    it("any byte key, not only UTF-8, round-trips through the HTTP API (property)", async () => {
      await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 16 }), async (key) => {
        const put = await request([endpoint], "PUT", `/v1/kv/${encodeKeyPath(key)}`, key);
        expect(put.status).toBe(200);
        const got = await request([endpoint], "GET", `/v1/kv/${encodeKeyPath(key)}`);
        expect(got.status).toBe(200);
        expect(Buffer.from(got.body).equals(Buffer.from(key))).toBe(true);
      }), { numRuns: 150 });
    }, 120_000);

    it("a byte key written over HTTP is the same key on the binary client port, and back (property)", async () => {
      const kv = createClient({ endpoints: [`127.0.0.1:${cluster.ports.get(1)?.client}`] });
      try {
        await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.boolean(), async (key, viaHttp) => {
          const value = Uint8Array.of(...key, viaHttp ? 1 : 2);
          if (viaHttp) expect((await request([endpoint], "PUT", `/v1/kv/${encodeKeyPath(key)}`, value)).status).toBe(200);
          else await kv.put(key, value);
          const overBinary = await kv.get(key);
          expect(overBinary !== undefined && Buffer.from(overBinary.value).equals(Buffer.from(value))).toBe(true);
          const overHttp = await request([endpoint], "GET", `/v1/kv/${encodeKeyPath(key)}`);
          expect(Buffer.from(overHttp.body).equals(Buffer.from(value))).toBe(true);
        }), { numRuns: 100 });
      } finally {
        await kv.close();
      }
    }, 120_000);
  });

  describe("values from stdin and files, output that keeps bytes", () => {
    it("echo hi | kvraft put k - stores \"hi\\n\"; @FILE stores the file", async () => {
      expect((await kvraft(["put", "from-stdin", "-", ...endpoints], { stdin: Buffer.from("hi\n") })).code).toBe(0);
      expect((await kvraft(["get", "from-stdin", "--raw", ...endpoints])).stdout.toString()).toBe("hi\n");
      const file = join(scratch, "value.txt");
      await writeFile(file, "from a file");
      expect((await kvraft(["put", "from-file", `@${file}`, ...endpoints])).code).toBe(0);
      expect((await getText("from-file")).stdout.toString()).toBe("from a file\n");
      const missing = await kvraft(["put", "k", `@${join(scratch, "absent")}`, ...endpoints]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("ENOENT");
    });

    it("a 200 KB binary value goes in through - and @FILE and comes back unchanged with --raw and in JSON base64", async () => {
      const bytes = randomBytes(200 * 1024);
      bytes[0] = 0xff; // never valid UTF-8
      const file = join(scratch, "big.bin");
      await writeFile(file, bytes);
      for (const [key, args, stdin] of [["big-file", [`@${file}`], undefined], ["big-stdin", ["-"], bytes]] as const) {
        const put = await kvraft(["put", key, ...args, ...endpoints], stdin === undefined ? {} : { stdin });
        expect(put.code, put.stderr).toBe(0);
        const raw = await kvraft(["get", key, "--raw", ...endpoints]);
        expect(raw.stdout.equals(bytes), key).toBe(true);
        const asJson = JSON.parse((await kvraft(["get", key, "--output", "json", ...endpoints])).stdout.toString()) as { value: string | null; valueBase64: string; found: boolean };
        expect(asJson.found).toBe(true);
        expect(asJson.value).toBeNull();
        expect(Buffer.from(asJson.valueBase64, "base64").equals(bytes)).toBe(true);
      }
      const table = await getText("big-file");
      expect(table.stderr).toContain("not UTF-8");
    }, 60_000);

    it("watch --output json carries the value as base64, and the text only when it is UTF-8", async () => {
      let printed = "";
      const watching = kvraft(["watch", "wb/", "--output", "json", ...endpoints], {
        stopWhen: (out) => {
          printed = out;
          return out.includes("wb/text");
        },
      });
      // The watch starts from the revision current when it connects: write the binary
      // value until the watch has printed it (a write before it connected is not an event).
      await waitFor("the watch to print the binary write", async () => {
        await kvraft(["put", "wb/binary", "-", ...endpoints], { stdin: Uint8Array.of(0xff, 0xfe, 0x00) });
        return printed.includes("wb/binary") || undefined;
      }, 20_000, 100);
      await kvraft(["put", "wb/text", "plain", ...endpoints]);
      const events = (await watching).stdout.toString().trim().split("\n").map((l) => JSON.parse(l) as { key: string; value: string | null; valueBase64: string });
      expect(events.find((e) => e.key === "wb/binary")).toMatchObject({ value: null, valueBase64: Buffer.of(0xff, 0xfe, 0x00).toString("base64") });
      expect(events.find((e) => e.key === "wb/text")).toMatchObject({ value: "plain", valueBase64: Buffer.from("plain").toString("base64") });
    }, 30_000);

    it("cas takes - and @FILE too; JSON output keeps the text value for UTF-8", async () => {
      const { version } = JSON.parse((await kvraft(["put", "cas-k", "a", "--output", "json", ...endpoints])).stdout.toString()) as { version: number };
      expect((await kvraft(["cas", "cas-k", String(version), "-", ...endpoints], { stdin: Buffer.from("b") })).code).toBe(0);
      const got = JSON.parse((await kvraft(["get", "cas-k", "--output", "json", ...endpoints])).stdout.toString()) as { value: string; valueBase64: string };
      expect(got).toMatchObject({ value: "b", valueBase64: Buffer.from("b").toString("base64") });
    });
  });

  describe("flags and output", () => {
    it("--version prints the package version", async () => {
      const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
      const run = await kvraft(["--version"]);
      expect(run).toMatchObject({ code: 0 });
      expect(run.stdout.toString().trim()).toBe(version);
    });

    it("KVRAFT_ENDPOINTS is the default for --endpoints", async () => {
      expect((await kvraft(["put", "env-k", "env-v"], { env: { KVRAFT_ENDPOINTS: endpoint } })).code).toBe(0);
      expect((await kvraft(["get", "env-k"], { env: { KVRAFT_ENDPOINTS: endpoint } })).stdout.toString()).toBe("env-v\n");
    });

    it("--consistency takes only its choices: bogus exits 2", async () => {
      const run = await kvraft(["get", "k", "--consistency", "bogus", ...endpoints]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("linearizable");
      expect((await kvraft(["get", "env-k", "--consistency", "serializable", ...endpoints])).code).toBe(0);
    });

    it("get of a missing key with --output json prints {found:false} and exits 1", async () => {
      const run = await kvraft(["get", "never-written", "--output", "json", ...endpoints]);
      expect(run.code).toBe(1);
      expect(JSON.parse(run.stdout.toString())).toMatchObject({ found: false, key: "never-written" });
    });

    it("a closed stdout (| head) ends status and list quietly, without a stack", async () => {
      for (const verb of ["status", "list"]) {
        const run = await kvraft([verb, ...endpoints], { closeStdout: true });
        expect(run.stderr, verb).toBe("");
        expect(run.code, verb).toBe(0);
      }
    });
  });

  describe("shell completion", () => {
    /** What bash offers after `words` (the last one the word being completed), with the generated script sourced. */
    const complete = async (script: string, words: readonly string[]): Promise<string[]> => {
      const file = join(scratch, "kvraft.bash");
      await writeFile(file, script);
      const line = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _kvraft; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const child = spawn("bash", ["--norc", "-c", line], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => { out += chunk.toString(); });
      await new Promise((resolve) => child.once("close", resolve));
      return out.split("\n").filter((w) => w !== "");
    };

    it("kvraft completion bash completes verbs, subcommands, options and their choices", async () => {
      const run = await kvraft(["completion", "bash"]);
      expect(run.code).toBe(0);
      const script = run.stdout.toString();
      expect(script).toContain("complete -o default -F _kvraft kvraft");
      expect(await complete(script, ["kvraft", "mem"])).toEqual(["members"]);
      expect(await complete(script, ["kvraft", "members", "a"])).toEqual(["add", "add-learner"]);
      expect(await complete(script, ["kvraft", "get", "k", "--r"])).toEqual(["--raw"]);
      expect(await complete(script, ["kvraft", "get", "k", "--consistency", ""])).toEqual(["linearizable", "serializable", "follower"]);
      expect(await complete(script, ["kvraft", "delete", "k", "--exp"])).toEqual(["--expect-version"]);
    });

    it("kvraft completion zsh runs the same completion through bashcompinit; another shell is a usage error", async () => {
      const zsh = await kvraft(["completion", "zsh"]);
      expect(zsh.code).toBe(0);
      expect(zsh.stdout.toString()).toContain("bashcompinit");
      expect(zsh.stdout.toString()).toContain("complete -o default -F _kvraft kvraft");
      expect((await kvraft(["completion", "fish"])).code).toBe(2);
    });
  });

  describe("errors that name the endpoint and the cause", () => {
    let html: Server;
    let htmlEndpoint: string;
    let silent: ReturnType<typeof createTcpServer>;
    const sockets: Socket[] = [];
    let silentEndpoint: string;
    beforeAll(async () => {
      // Some other web server on the port: a 404 page for everything.
      html = createHttpServer((_req, res) => res.writeHead(404, { "content-type": "text/html" }).end("<html><body>Not Found</body></html>"));
      // A port that accepts and never answers (a hung process, a black hole).
      silent = createTcpServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => html.listen(0, "127.0.0.1", resolve));
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      htmlEndpoint = `127.0.0.1:${(html.address() as { port: number }).port}`;
      silentEndpoint = `127.0.0.1:${(silent.address() as { port: number }).port}`;
    });
    afterAll(() => {
      html?.close();
      for (const socket of sockets) socket.destroy();
      silent?.close();
    });

    it("refused connections: one line per endpoint with ECONNREFUSED, exit 3", async () => {
      const [a, b] = await freePorts(2);
      // Refused connections are retried until the timeout; 1 s was close to what the CLI's own start can take on a loaded machine.
      const run = await kvraft(["get", "x", "--endpoints", `127.0.0.1:${a},127.0.0.1:${b}`, "--timeout", "3000"]);
      expect(run.code).toBe(3);
      expect(run.stderr).not.toContain("fetch failed");
      const lines = run.stderr.split("\n").filter((l) => l.includes("ECONNREFUSED"));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toContain(`127.0.0.1:${a}`);
      expect(lines[1]).toContain(`127.0.0.1:${b}`);
    });

    it("watch names the cause when no member answers (not \"fetch failed\")", async () => {
      const [port] = await freePorts(1);
      for (const extra of [[], ["--from-revision", "1"]]) {
        const run = await kvraft(["watch", "p/", ...extra, "--endpoints", `127.0.0.1:${port}`, "--timeout", "3000"]);
        expect(run.code, extra.join(" ")).toBe(3);
        expect(run.stderr).toContain(`127.0.0.1:${port}`);
        expect(run.stderr).toContain("ECONNREFUSED");
        expect(run.stderr).not.toContain("fetch failed");
      }
    }, 30_000);

    it("a retry the deadline cuts short does not hide what the member said before it", async () => {
      // The first connection is reset (as a TLS port resets plain HTTP); every later one hangs.
      let connections = 0;
      const flaky = createTcpServer((socket) => {
        if (connections++ === 0) socket.resetAndDestroy();
        else sockets.push(socket);
      });
      await new Promise<void>((resolve) => flaky.listen(0, "127.0.0.1", resolve));
      try {
        const flakyEndpoint = `127.0.0.1:${(flaky.address() as { port: number }).port}`;
        const run = await kvraft(["get", "k", "--endpoints", flakyEndpoint, "--timeout", "3000"]);
        expect(run.code).toBe(3);
        expect(connections).toBeGreaterThan(1);
        expect(run.stderr).toContain(`${flakyEndpoint}: connection reset (ECONNRESET)`);
        expect(run.stderr).not.toContain("timed out");
      } finally {
        flaky.close();
      }
    });

    it("--timeout bounds a member that never answers, and the error says it timed out", async () => {
      const started = Date.now();
      const run = await kvraft(["put", "k", "v", "--endpoints", silentEndpoint, "--timeout", "700"]);
      expect(run.code).toBe(3);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(run.stderr).toContain(silentEndpoint);
      expect(run.stderr).toContain("timed out");
    });

    it("an HTTP server that is not KVRaft is named as such, not a missing key or a JSON parse error", async () => {
      for (const args of [["get", "x"], ["put", "x", "y"], ["list"], ["status"]]) {
        const run = await kvraft([...args, "--endpoints", htmlEndpoint]);
        expect(run.code, args.join(" ")).toBe(3);
        expect(run.stderr).toContain(`${htmlEndpoint}: not a KVRaft server`);
        expect(run.stderr).not.toContain("does not exist");
        expect(run.stderr).not.toContain("JSON");
      }
    });
  });
});
