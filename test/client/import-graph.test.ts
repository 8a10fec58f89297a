import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const RECORD_LOADS = fileURLToPath(new URL("../cli/support/record-loads.mjs", import.meta.url));

/** The server's and the operator's dependencies: a program that only talks to a cluster must not need them. */
const SERVER_PACKAGES = ["@kubernetes/client-node", "express", "prom-client"];
/**
 * Layers of the package the client never runs. src/kv is not among them: the client
 * shares its pure types and codecs (events, results), which need no package.
 */
const SERVER_LAYERS = ["server", "coord", "operator", "storage", "transport", "raft", "cli", "devcluster", "sim", "bench", "local"];

interface Loaded { code: number | null; urls: string[]; stderr: string }

/**
 * Imports `specifier` through the package's own "exports" (a self-reference, as an
 * installed package would be imported) in a fresh node, with the module hook of the lazy
 * verbs test recording every URL loaded.
 */
async function loadsOf(scratch: string, specifier: string): Promise<Loaded> {
  const file = join(scratch, `${specifier.replace(/[^\w.-]/g, "_")}.txt`);
  let stderr = "";
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, ["--import", RECORD_LOADS, "--input-type=module", "-e", `await import(${JSON.stringify(specifier)});`], {
      cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, KVRAFT_TEST_LOADS_FILE: file },
    });
    child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString("utf8"); });
    child.once("exit", resolve);
  });
  const urls = (await readFile(file, "utf8").catch(() => "")).split("\n").filter((url) => url !== "");
  return { code, urls, stderr };
}

function packagesIn(urls: readonly string[]): string[] {
  const names = urls.map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]).filter((name): name is string => name !== undefined);
  return [...new Set(names)].sort();
}

/** Issue 16: a program importing the client library pulled in @kubernetes/client-node, express and prom-client. */
describe("kvraft/client imports none of the server's or operator's dependencies (the built package)", () => {
  let scratch: string;
  beforeAll(async () => { scratch = await mkdtemp(join(tmpdir(), "kvraft-client-graph-")); });
  afterAll(async () => { await rm(scratch, { recursive: true, force: true }); });

  it("the hook sees what a server module loads (so the check below can fail)", async () => {
    const server = await loadsOf(scratch, "./dist/server/server.js");
    expect(server.code, server.stderr).toBe(0);
    expect(packagesIn(server.urls)).toEqual(expect.arrayContaining(["express", "prom-client"]));
  });

  for (const specifier of ["kvraft/client", "kvraft"]) {
    it(`import "${specifier}" loads no server package and no server layer`, async () => {
      const client = await loadsOf(scratch, specifier);
      expect(client.code, client.stderr).toBe(0);
      expect(client.urls.some((url) => url.includes("/dist/client/index.js"))).toBe(true);
      const packages = packagesIn(client.urls);
      console.log(`import "${specifier}" loads ${client.urls.length} modules; packages: ${packages.join(", ") || "none"}`);
      expect(packages.filter((name) => SERVER_PACKAGES.includes(name))).toEqual([]);
      expect(client.urls.filter((url) => SERVER_LAYERS.some((layer) => url.includes(`/dist/${layer}/`)))).toEqual([]);
    });
  }
});
