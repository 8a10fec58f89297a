// The layer map: every folder and top-level file of src/, in rows from the top (the
// program) to the bottom (pure building blocks). Code may import from the rows below its
// own, never from above nor from a neighbour in its own row: eslint.config.js turns the
// rows into import bans, docs/ARCHITECTURE.md draws the same picture, and
// test/lint/layer-map.test.ts fails when src/ gains a folder or file that has no place here.
export const LAYERS = [
  ["cli.ts", "index.ts"], // the kvraft program's entry; the package's public surface
  ["cli"],
  ["devcluster"],
  ["bench"],
  // The simulator sits above client and server: it is to run the code that ships.
  ["local", "operator", "sim"],
  // Three programs' libraries that meet only on the wire (protocol/ holds the contracts).
  ["client", "server", "coord"],
  // protocol-link/: the client protocol spoken over a socket (the client library's and a forwarding member's).
  ["transport", "storage", "protocol-link"],
  ["security", "process-metrics.ts", "trace-file.ts", "request-id.ts"],
  ["version.ts"],
  ["protocol"],
  // The backup file's format: a snapshot's bytes with metadata and checksums; knows no kv.
  ["lincheck", "kv", "backup"],
  // Traces draw Raft's messages, so trace/ reads raft/'s types; raft/ knows nothing of traces.
  ["trace"],
  ["raft"],
  ["codec"],
  // The one assertion (invariant, InvariantError): every folder above may use it.
  ["assert"],
];

// Pairs kept apart although the rows would allow the import: what the first may not import.
export const APART = {
  // The operator acts on members through their admin API (client/) and reads their
  // /v1/status (protocol/), never through the server's code.
  operator: ["server"],
};

// Pure code, per folder (globs inside it): no IO, no clock, no timers, no global random,
// so that a simulator run replays from its seed and a codec is bytes in, values out.
export const PURE = {
  assert: ["**"],
  raft: ["**"],
  kv: ["**"],
  backup: ["**"],
  codec: ["**"],
  protocol: ["**"],
  lincheck: ["**"],
  trace: ["**"],
  sim: ["core/**"],
  transport: ["codec.ts", "frames.ts", "send-queue.ts"],
  server: [
    "memcached/parser.ts", "memcached/command-line.ts", "memcached/tokens.ts", "memcached/replies.ts",
    "memcached/meta-line.ts",
  ],
};
