// Lint rules. The pure layers (raft, kv) must not reach for IO, the clock or global
// randomness: that is what makes a simulator run replayable from its seed.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const pureLayerRules = {
  "no-restricted-imports": ["error", {
    patterns: [{ group: ["node:*", "fs", "net", "os", "child_process", "worker_threads", "timers"],
      message: "this layer is pure: IO lives at the edges (docs/ARCHITECTURE.md)" }],
  }],
  "no-restricted-properties": ["error",
    { object: "Math", property: "random", message: "use the injected seeded random source" },
    { object: "Date", property: "now", message: "time is an input (ticks or stamps), never read here" },
    { object: "performance", property: "now", message: "time is an input, never read here" },
  ],
  "no-restricted-globals": ["error",
    { name: "setTimeout", message: "timers live at the edges" },
    { name: "setInterval", message: "timers live at the edges" },
    { name: "process", message: "no process access in a pure layer" },
  ],
};

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
  {
    files: [
      "src/raft/**/*.ts", "src/kv/**/*.ts", "src/sim/core/**/*.ts", "src/lincheck/**/*.ts",
      // Codecs and parsers: bytes in, values out, nothing else.
      "src/codec/**/*.ts", "src/protocol/**/*.ts", "src/trace/**/*.ts",
      "src/transport/codec.ts", "src/transport/frames.ts", "src/transport/send-queue.ts",
      "src/server/memcached/parser.ts", "src/server/memcached/command-line.ts", "src/server/memcached/tokens.ts", "src/server/memcached/replies.ts",
      "src/server/memcached/meta-line.ts",
    ],
    rules: pureLayerRules,
  },
);
