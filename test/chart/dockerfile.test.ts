/**
 * The image, checked without a container engine: the Dockerfile's stages do what the
 * issue asks (build with dev dependencies, run with production ones only, non-root,
 * `node dist/cli.js` as the entrypoint), the build context lets in what it copies and
 * nothing else, and what the runtime stage holds would run: dist/ imports only production
 * dependencies, and `node dist/cli.js` (the entrypoint, run from the image's layout)
 * answers with the operator's, the coordinator's and the server's verbs.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { RUN_AS_ID } from "../../src/operator/desired/server-pod.js";
import { MEMBER_NODE_FLAGS } from "../../src/server/member-node-flags.js";
import { REPO_ROOT } from "./chart-render.js";
import { CLI, parseCommands } from "./cli-help.js";
import type { Stage } from "./dockerfile.js";
import { copies, isIgnored, runs, stages } from "./dockerfile.js";

const run = promisify(execFile);
const dockerfile = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8");
const dockerignore = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8");
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
  engines: { node: string }; dependencies: Record<string, string>; devDependencies: Record<string, string>;
};

const all = stages(dockerfile);
const runtime = all[all.length - 1] as Stage;
const stageNamed = (name: string | undefined): Stage => {
  const found = all.find((s) => s.name === name);
  if (found === undefined) throw new Error(`the Dockerfile has no stage named ${name ?? "(none)"}`);
  return found;
};
/** The stage that provides `path` to the runtime stage (COPY --from=STAGE SOURCE ...). */
const providerOf = (path: string): Stage => {
  const copy = copies(runtime).find((c) => c.from !== undefined && c.sources.some((s) => s.endsWith(path)));
  if (copy === undefined) throw new Error(`the runtime stage copies no ${path} from another stage`);
  return stageNamed(copy.from);
};

/** The modules an ES module imports statically (import/export ... from, bare import), as tsc emits them. */
function staticImports(text: string): string[] {
  const found: string[] = [];
  // No "(" before the `from`: an import or re-export has none, while `export function f(...) { g("from", ...) }` would match.
  for (const match of text.matchAll(/^\s*(?:import|export)\s[^;(]*?\bfrom\s*["']([^"']+)["']/gms)) found.push(match[1] as string);
  for (const match of text.matchAll(/^\s*import\s*["']([^"']+)["']/gm)) found.push(match[1] as string);
  return found;
}

/** The project's own modules a file loads with import(): each verb's implementation. */
function dynamicRelativeImports(text: string): string[] {
  return [...text.matchAll(/\bimport\(\s*["'](\.[^"']+)["']\s*\)/g)].map((match) => match[1] as string);
}

/** The package a bare import names: "a/b" -> "a", "@s/a/b" -> "@s/a". */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string);
}

describe("the Dockerfile", () => {
  it("builds on the current Node LTS line, never older than the code's minimum", () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    const minimum = Number(/(\d+)/.exec(pkg.engines.node)?.[1]);
    for (const stage of all) {
      const major = Number(/^node:(\d+)[-.]/.exec(stage.base)?.[1]);
      expect(major, stage.base).toBeGreaterThanOrEqual(Math.max(minimum, 24));
      expect(stage.base, "every stage on one base, so what was built is what runs").toBe(runtime.base);
    }
  });

  it("pins its base image by digest (a tag moves; a digest names one image)", () => {
    for (const stage of all) expect(stage.base).toMatch(/^node:[\w.-]+@sha256:[0-9a-f]{64}$/);
  });

  it("builds dist/ with the dev dependencies and runs with production dependencies only", () => {
    const build = providerOf("dist");
    const buildRuns = runs(build);
    const install = buildRuns.findIndex((r) => /\bnpm ci\b/.test(r) && !r.includes("--omit=dev"));
    const compile = buildRuns.findIndex((r) => /\bnpm run build\b/.test(r));
    expect(install, "the build stage installs every dependency (npm ci)").toBeGreaterThanOrEqual(0);
    expect(compile, "then compiles (npm run build)").toBeGreaterThan(install);

    const modules = providerOf("node_modules");
    expect(modules, "node_modules must not come from the stage that installed dev dependencies").not.toBe(build);
    expect(runs(modules).some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);

    expect(runs(runtime).filter((r) => /\bnpm\b/.test(r)), "the runtime stage installs nothing").toEqual([]);
    const runtimeSources = copies(runtime).flatMap((c) => c.sources);
    expect(runtimeSources).toContain("package.json"); // "type": "module": dist/ is ES modules
    expect(runtimeSources.some((s) => s === "src" || s.startsWith("src/"))).toBe(false);
  });

  it("skips install scripts only because no production dependency has one", () => {
    const modules = providerOf("node_modules");
    if (!runs(modules).some((r) => r.includes("--ignore-scripts"))) return;
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }> };
    const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript === true && p.dev !== true).map(([name]) => name);
    expect(withScripts, "production dependencies with install scripts: drop --ignore-scripts from the Dockerfile").toEqual([]);
  });

  it("runs as a numeric non-root user, the one the operator's pods and the chart expect", () => {
    const users = runtime.instructions.filter((i) => i.keyword === "USER").map((i) => i.rest);
    expect(users).toHaveLength(1);
    const [uid, gid] = (users[0] as string).split(":");
    expect(Number(uid), "a number, so runAsNonRoot can be verified").toBe(RUN_AS_ID);
    expect(Number(gid ?? uid)).toBe(RUN_AS_ID);
  });

  it("has ENTRYPOINT [\"node\", <a member's V8 flags>, \"dist/cli.js\"], one image for every role", () => {
    const entrypoints = runtime.instructions.filter((i) => i.keyword === "ENTRYPOINT").map((i) => JSON.parse(i.rest) as unknown);
    // The flags V8 reads only at start (src/server/member-node-flags.ts), as kvraft local and the benchmark pass them.
    expect(entrypoints).toEqual([["node", ...MEMBER_NODE_FLAGS, "dist/cli.js"]]);
  });

  it("sends the build context only what it copies (.dockerignore)", () => {
    const fromContext = all.flatMap((s) => copies(s).filter((c) => c.from === undefined).flatMap((c) => c.sources));
    expect(fromContext.length).toBeGreaterThan(0);
    for (const source of fromContext) {
      expect(existsSync(join(REPO_ROOT, source)), `${source} exists`).toBe(true);
      expect(isIgnored(dockerignore, source), `${source} is admitted by .dockerignore`).toBe(false);
    }
    expect(isIgnored(dockerignore, "src/cli.ts")).toBe(false);
    for (const kept of ["node_modules", "node_modules/yaml/package.json", "dist/cli.js", ".git", ".kvraft", "test/chart/helm.test.ts", "charts", ".env"]) {
      expect(isIgnored(dockerignore, kept), `${kept} stays out of the context`).toBe(true);
    }
  });
});

describe("what the runtime stage holds", () => {
  it("the entrypoint's static imports are Node's modules and production dependencies only", () => {
    expect(existsSync(CLI), "run `npm run build` first").toBe(true);
    // Every verb's implementation is loaded with import() when it runs, so the walk follows
    // those of the project's own modules too. Dynamic imports of packages are left out on
    // purpose: they load a dev dependency only for a verb that needs it (the cluster
    // benchmark's etcd client), never in the image's roles.
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    const wrong: string[] = [];
    const seen = new Set<string>();
    const pending = [CLI];
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const specifier of [...staticImports(text), ...dynamicRelativeImports(text)]) {
        if (specifier.startsWith(".")) { pending.push(resolve(dirname(file), specifier)); continue; }
        if (specifier.startsWith("node:")) continue;
        const name = packageOf(specifier);
        if (!allowed.has(name)) wrong.push(`${file.slice(REPO_ROOT.length + 1)} imports ${specifier}${name in pkg.devDependencies ? " (a dev dependency)" : ""}`);
      }
    }
    expect(seen.size, "the walk follows dist/'s relative imports").toBeGreaterThan(20);
    expect(wrong, "the image has no dev dependencies: move these to dependencies, or import them dynamically where needed").toEqual([]);
  });

  it("the entrypoint runs: `node dist/cli.js --help` lists the operator, coordinator and server verbs", async () => {
    const { stdout } = await run(process.execPath, [CLI, "--help"], { cwd: REPO_ROOT });
    const verbs = parseCommands(stdout);
    for (const verb of ["operator", "coord", "server"]) expect(verbs.has(verb), `kvraft ${verb}`).toBe(true);
  });
});
