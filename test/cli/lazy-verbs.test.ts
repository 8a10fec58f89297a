import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/process-cluster.js";

const RECORD_LOADS = fileURLToPath(new URL("./support/record-loads.mjs", import.meta.url));

/** Layers a client verb or a help page has no use for; loading any of them costs startup time. */
const HEAVY_LAYERS = ["server", "coord", "storage", "transport", "bench", "client", "raft", "kv"];

interface Loaded { code: number | null; urls: string[] }

/** Runs the built `kvraft ...args` with the module hook that records every URL it resolves. */
async function loadsOf(scratch: string, args: readonly string[]): Promise<Loaded> {
  const file = join(scratch, `${args.join("_").replace(/[^\w.-]/g, "_")}.txt`);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, ["--import", RECORD_LOADS, CLI, ...args], {
      cwd: scratch, stdio: "ignore", env: { ...process.env, KVRAFT_TEST_LOADS_FILE: file },
    });
    child.once("exit", resolve);
  });
  const urls = (await readFile(file, "utf8").catch(() => "")).split("\n").filter((url) => url !== "");
  return { code, urls };
}

function packagesIn(urls: readonly string[]): string[] {
  const names = urls.map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]).filter((name): name is string => name !== undefined);
  return [...new Set(names)].sort();
}

function heavyModulesIn(urls: readonly string[]): string[] {
  return urls.filter((url) => HEAVY_LAYERS.some((layer) => url.includes(`/dist/${layer}/`)));
}

/** Each verb's implementation is imported when the verb runs, never to print help or parse flags. */
describe("kvraft loads a verb's implementation only when that verb runs", () => {
  let scratch: string;
  beforeAll(async () => { scratch = await mkdtemp(join(tmpdir(), "kvraft-lazy-")); });
  afterAll(async () => { await rm(scratch, { recursive: true, force: true }); });

  it("the hook sees modules a verb loads lazily (so the checks below can fail)", async () => {
    const coord = await loadsOf(scratch, ["coord", "--port", "not-a-port"]);
    expect(coord.code).toBe(2);
    expect(packagesIn(coord.urls)).toEqual(expect.arrayContaining(["express", "prom-client"]));
    expect(heavyModulesIn(coord.urls)).not.toEqual([]);
  });

  for (const args of [["--help"], ["get", "--help"], ["server", "--help"], ["operator", "--help"], ["sim", "--plant", "no-such-plant"]]) {
    it(`kvraft ${args.join(" ")} loads commander and the verbs' definitions only`, async () => {
      const { code, urls } = await loadsOf(scratch, args);
      expect(code).toBe(args.includes("--help") ? 0 : 2);
      expect(urls.some((url) => url.endsWith("/dist/cli/main.js"))).toBe(true);
      expect(packagesIn(urls)).toEqual(["commander"]);
      expect(heavyModulesIn(urls)).toEqual([]);
    });
  }

  it("a client verb (get, no cluster found) runs without the server, express or prom-client", async () => {
    const { code, urls } = await loadsOf(scratch, ["get", "k", "--cluster-dir", join(scratch, "no-cluster")]);
    expect(code).toBe(3);
    expect(packagesIn(urls)).toEqual(["commander"]);
    expect(heavyModulesIn(urls)).toEqual([]);
  });
});
