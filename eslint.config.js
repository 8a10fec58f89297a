// Lint rules. Two kinds beside the recommended sets:
// - the layer map (tools/layer-map.mjs): code imports only from the rows below its own,
//   so the arrows of docs/ARCHITECTURE.md point down;
// - purity: the pure code must not reach for IO, the clock, timers or global randomness:
//   that is what makes a simulator run replayable from its seed.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { APART, LAYERS, PURE } from "./tools/layer-map.mjs";

const IO_MODULES = {
  group: ["node:*", "fs", "net", "os", "child_process", "worker_threads", "timers"],
  message: "this code is pure: IO lives at the edges (docs/ARCHITECTURE.md)",
};

/**
 * No AsyncLocalStorage (nor any async hook) anywhere in src/: on Node 20 the first
 * `run` of one turns on promise hooks for the whole process, and every promise of every
 * request pays for them (about 6% of the members' CPU per put). What code below the
 * ports needs of a request goes down explicitly (src/server/request-scope.ts).
 */
const ASYNC_CONTEXT = {
  group: ["node:async_hooks", "async_hooks"],
  message: "no async hooks or AsyncLocalStorage: pass what a call needs explicitly (src/server/request-scope.ts)",
};

const pureRules = {
  "no-restricted-properties": ["error",
    { object: "Math", property: "random", message: "use the injected seeded random source" },
    { object: "performance", property: "now", message: "time is an input, never read here" },
  ],
  "no-restricted-globals": ["error",
    { name: "Date", message: "time is an input (ticks or stamps in ms): no new Date(), Date.now() or Date.parse() here" },
    { name: "setTimeout", message: "timers live at the edges" },
    { name: "setInterval", message: "timers live at the edges" },
    { name: "setImmediate", message: "scheduling lives at the edges: return what to do next and let the caller run it" },
    { name: "queueMicrotask", message: "scheduling lives at the edges: return what to do next and let the caller run it" },
    { name: "process", message: "no process access in pure code" },
  ],
};

const escapeRegex = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A relative import of the folder or top-level file `name` of src/, from anywhere in src/. */
function importOf(name) {
  const target = name.endsWith(".ts") ? `${escapeRegex(name.slice(0, -3))}\\.js$` : `${escapeRegex(name)}(?:/|$)`;
  return `^\\.{1,2}/(?:.*/)?${target}`;
}

// src/index.ts has no ban of its own: every folder has an index.js, so a name cannot tell
// them apart (and nothing in src/ imports the package's public surface).
const UNBANNABLE = new Set(["index.ts"]);

/** no-restricted-imports for the code of `name`: every row above its own, its neighbours, what it is kept apart from, and `extra`. */
function importBans(name, extra = []) {
  const row = LAYERS.findIndex((names) => names.includes(name));
  const above = LAYERS.slice(0, row).flat().filter((banned) => !UNBANNABLE.has(banned));
  const neighbours = LAYERS[row].filter((banned) => banned !== name && !UNBANNABLE.has(banned));
  const message = (banned, where) => `${name} may not import ${banned}, ${where} in the layer map ` +
    "(tools/layer-map.mjs, docs/ARCHITECTURE.md): imports point down only; move the shared piece down, or pass it in from above";
  const patterns = [
    ...above.map((banned) => ({ regex: importOf(banned), message: message(banned, "above it") })),
    ...neighbours.map((banned) => ({ regex: importOf(banned), message: message(banned, "its neighbour") })),
    ...(APART[name] ?? []).map((banned) => ({ regex: importOf(banned), message: message(banned, "kept apart from it") })),
  ];
  return ["error", { patterns: [...patterns, ...extra] }];
}

const filesOf = (name) => name.endsWith(".ts") ? [`src/${name}`] : [`src/${name}/**/*.ts`];

const layerRules = LAYERS.flat().map((name) => ({
  files: filesOf(name),
  rules: { "no-restricted-imports": importBans(name, [ASYNC_CONTEXT]) },
}));

// After the layer rules, so that the pure code's no-restricted-imports (layer bans and IO
// modules in one list: a later setting of a rule replaces an earlier one) wins.
const pureCodeRules = Object.entries(PURE).map(([folder, globs]) => ({
  files: globs.map((glob) => `src/${folder}/${glob.endsWith("**") ? `${glob}/*.ts` : glob}`),
  rules: { ...pureRules, "no-restricted-imports": importBans(folder, [IO_MODULES, ASYNC_CONTEXT]) },
}));

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", ".kvraft/**", "tools/**/bin/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    // Plain Node scripts (test tooling run before the TypeScript build exists).
    files: ["tools/**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", setTimeout: "readonly" } },
  },
  ...layerRules,
  ...pureCodeRules,
);
