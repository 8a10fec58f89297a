import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { APART, LAYERS, PURE } from "../../tools/layer-map.mjs";

/**
 * The layer map as `npm run lint` enforces it: the repository's own eslint.config.js,
 * run through ESLint's Node API on planted files (lintText with a path inside a folder;
 * nothing is written to disk).
 */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: "eslint.config.js" });

/** The messages of one rule for `code` as if it were the file `filePath` (relative to the root). */
async function lint(filePath: string, code: string, ruleId: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === ruleId).map((m) => m.message);
}

const imports = (filePath: string, code: string) => lint(filePath, code, "no-restricted-imports");
const globals = (filePath: string, code: string) => lint(filePath, code, "no-restricted-globals");

describe("the layer map, enforced by lint", () => {
  it("fails an import that points up: raft importing the server's replica", async () => {
    const messages = await imports("src/raft/planted.ts", 'import { Replica } from "../server/replica.js";\nexport const r = Replica;\n');
    expect(messages).toEqual([expect.stringContaining("raft may not import server, above it in the layer map")]);
  });

  it("fails an import between neighbours: client importing server, server importing client", async () => {
    expect(await imports("src/client/planted.ts", 'import type { ServerConfig } from "../server/config.js";\nexport type C = ServerConfig;\n'))
      .toEqual([expect.stringContaining("client may not import server, its neighbour")]);
    expect(await imports("src/server/http/planted.ts", 'export { createClient } from "../../client/index.js";\n'))
      .toEqual([expect.stringContaining("server may not import client, its neighbour")]);
  });

  it("fails the wrong-way imports this map replaced: server importing coord, coord and operator importing server", async () => {
    expect(await imports("src/server/planted.ts", 'import { Registry } from "../coord/registry.js";\nexport const r = Registry;\n'))
      .toEqual([expect.stringContaining("server may not import coord, its neighbour")]);
    expect(await imports("src/coord/planted.ts", 'import { buildStatus } from "../server/build-status.js";\nexport const b = buildStatus;\n'))
      .toEqual([expect.stringContaining("coord may not import server, its neighbour")]);
    expect(await imports("src/operator/controller/planted.ts", 'import type { ServerStatus } from "../../server/status.js";\nexport type S = ServerStatus;\n'))
      .toEqual([expect.stringContaining("operator may not import server, kept apart from it")]);
  });

  it("passes imports that point down, from the top program to the pure bottom", async () => {
    const allowed: [string, string][] = [
      ["src/server/planted.ts", 'import type { ServerStatus } from "../protocol/status.js";\nimport { NodeId } from "../raft/types.js";\nexport type S = [ServerStatus, NodeId];\n'],
      ["src/client/planted.ts", 'import type { ServerStatus } from "../protocol/status.js";\nexport type S = ServerStatus;\n'],
      ["src/sim/core/planted.ts", 'import { Replica } from "../../server/replica.js";\nexport const r = Replica;\n'],
      ["src/cli/planted.ts", 'import { startServer } from "../server/server.js";\nimport { startCoordinator } from "../coord/index.js";\nexport const s = [startServer, startCoordinator];\n'],
      ["src/kv/planted.ts", 'import { ByteReader } from "../codec/bytes.js";\nexport const b = ByteReader;\n'],
    ];
    for (const [filePath, code] of allowed) expect(await imports(filePath, code), filePath).toEqual([]);
  });

  it("keeps a pure file's IO ban beside its folder's layer bans (transport/frames.ts is pure, tcp-transport.ts is not)", async () => {
    const code = 'import { connect } from "node:net";\nimport { startServer } from "../server/server.js";\nexport const c = [connect, startServer];\n';
    const pure = await imports("src/transport/frames.ts", code);
    expect(pure).toHaveLength(2);
    expect(pure).toEqual(expect.arrayContaining([expect.stringContaining("this code is pure"), expect.stringContaining("transport may not import server")]));
    expect(await imports("src/transport/tcp-transport.ts", code)).toEqual([expect.stringContaining("transport may not import server")]);
  });

  it("fails AsyncLocalStorage anywhere in src/: one run() would put promise hooks on every request of the process", async () => {
    const code = 'import { AsyncLocalStorage } from "node:async_hooks";\nexport const scope = new AsyncLocalStorage();\n';
    for (const filePath of ["src/server/planted.ts", "src/client/planted.ts", "src/raft/planted.ts"]) {
      expect(await imports(filePath, code), filePath).toEqual(expect.arrayContaining([expect.stringContaining("no async hooks or AsyncLocalStorage")]));
    }
  });

  it("flags the clock and scheduling in pure code: new Date() in kv, Date.now, setImmediate and queueMicrotask in raft", async () => {
    expect(await globals("src/kv/planted.ts", "export const stampMs = new Date().getTime();\n"))
      .toEqual([expect.stringContaining("time is an input")]);
    const raft = await globals("src/raft/planted.ts", "export const t = Date.now();\nsetImmediate(() => t);\nqueueMicrotask(() => t);\n");
    expect(raft).toEqual([
      expect.stringContaining("'Date'"), expect.stringContaining("'setImmediate'"), expect.stringContaining("'queueMicrotask'"),
    ]);
    // The edges may read the clock: the ban is the pure code's, not everyone's.
    expect(await globals("src/server/planted.ts", "export const stampMs = new Date().getTime();\nsetImmediate(() => stampMs);\n")).toEqual([]);
  });

  it("places every folder and top-level file of src/, and every name in APART and PURE is a real place", () => {
    const placed = new Set(LAYERS.flat());
    const entries = readdirSync(join(ROOT, "src"), { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.name.endsWith(".ts"))
      .map((e) => e.name);
    expect(entries.filter((name) => !placed.has(name)), "src/ entries missing from tools/layer-map.mjs").toEqual([]);
    expect([...placed].filter((name) => !entries.includes(name)), "layer-map rows naming nothing in src/").toEqual([]);
    for (const [folder, kept] of Object.entries(APART)) expect([folder, ...kept].filter((name) => !placed.has(name)), "APART").toEqual([]);
    for (const [folder, globs] of Object.entries(PURE)) {
      expect(placed.has(folder), folder).toBe(true);
      const files = readdirSync(join(ROOT, "src", folder), { recursive: true, encoding: "utf8" });
      for (const glob of globs) {
        const prefix = glob.replace(/\*\*$/, "");
        expect(files.some((f) => glob.endsWith("**") ? f.startsWith(prefix) && f.endsWith(".ts") : f === glob), `src/${folder}/${glob}`).toBe(true);
      }
    }
  });

  it("is drawn in docs/ARCHITECTURE.md (one line per entry, with its row) and in the README's layout", () => {
    const architecture = readFileSync(join(ROOT, "docs/ARCHITECTURE.md"), "utf8");
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    LAYERS.forEach((names, row) => {
      for (const name of names) {
        const folder = name.endsWith(".ts") ? name : `${name}/`;
        expect(architecture, `docs/ARCHITECTURE.md row ${row + 1}: ${folder}`).toMatch(new RegExp(`^ *${row + 1} ${folder.replace(".", "\\.")} `, "m"));
        expect(readme, `README layout: src/${folder}`).toContain(`src/${folder}`);
      }
    });
  });
});
