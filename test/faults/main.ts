import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { TEST_PLANTS } from "../../src/server/test-plant.js";
import { activeCleanups, crashedRun, runFailures, runOnce } from "./run.js";
import { summarize } from "./summary.js";

const HELP = `npm run faults -- [--runs N] [--seed S] [--servers 3|5] [--seconds T] [--clients C] [--keys K]
                      [--plant NAME] [--plaintext] [--out-dir DIR] [--json]

Fault testing of real kvraft server processes, each in its own network namespace, judged by
porcupine. Each run starts a fresh cluster (and a coordinator), runs C clients for T seconds
of faults (SIGKILL, SIGSTOP, partitions, one-way partitions, packet loss, slow links,
leadership transfers, membership changes, the coordinator killed), heals, checks that every
acknowledged write survived and that all state machines are identical, and judges the
history with porcupine and with src/lincheck (which must agree). The cluster runs secured:
its own CA, mutual TLS between members, TLS on the client ports and the coordinator, tokens.

  --runs N       runs, seeds S, S+1, ... (default 1)
  --seed S       the first seed (default: random, printed)
  --servers 3|5  cluster size (default: runs alternate 3 and 5)
  --seconds T    seconds of faults per run (default 40)
  --clients C    concurrent clients (default 8)
  --keys K       keys they share (default 5)
  --plant NAME   run deliberately broken servers (${TEST_PLANTS.join(", ")}): the judge must reject a run
  --plaintext    plain TCP and HTTP everywhere instead of TLS (to compare)
  --out-dir DIR  where histories and visualisations go (default: a new temp dir)
  --json         end with one JSON line of figures

Needs root, iproute2 and iptables. Exit status 0 when every run passed (with --plant: when
porcupine rejected at least one run), 1 otherwise, 2 for bad flags.`;

function fail(message: string): never {
  process.stderr.write(`faults: ${message}\n\n${HELP}\n`);
  process.exit(2);
}

function integer(value: string | undefined, name: string, fallback: number, low: number, high: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < low || n > high) fail(`--${name} must be a whole number in [${low}, ${high}], got ${value}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string" }, seed: { type: "string" }, servers: { type: "string" }, seconds: { type: "string" },
      clients: { type: "string" }, keys: { type: "string" }, plant: { type: "string" }, "out-dir": { type: "string" },
      json: { type: "boolean" }, plaintext: { type: "boolean" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  if (process.getuid?.() !== 0) fail("run as root: the harness creates network namespaces, a bridge and iptables rules");
  const runs = integer(values.runs, "runs", 1, 1, 10_000);
  const seed = integer(values.seed, "seed", Math.floor(Math.random() * 1_000_000), 0, 2 ** 31);
  const fixedServers = values.servers === undefined ? undefined : integer(values.servers, "servers", 3, 3, 5);
  if (fixedServers !== undefined && fixedServers !== 3 && fixedServers !== 5) fail("--servers must be 3 or 5");
  const seconds = integer(values.seconds, "seconds", 40, 5, 3600);
  const clients = integer(values.clients, "clients", 8, 1, 64);
  const keys = integer(values.keys, "keys", 5, 1, 100);
  const plant = values.plant;
  if (plant !== undefined && !(TEST_PLANTS as readonly string[]).includes(plant)) fail(`--plant ${plant} is not a plant (known: ${TEST_PLANTS.join(", ")})`);
  const outDir = values["out-dir"] === undefined ? await mkdtemp(join(tmpdir(), "kvraft-faults-out-")) : resolve(values["out-dir"]);
  await mkdir(outDir, { recursive: true });

  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const stopOnSignal = (signal: NodeJS.Signals): void => {
    log(`faults: ${signal}: cleaning up`);
    void Promise.all([...activeCleanups].map((cleanup) => cleanup())).finally(() => process.exit(130));
  };
  process.once("SIGINT", stopOnSignal);
  process.once("SIGTERM", stopOnSignal);

  log(`faults: ${runs} run(s) from seed ${seed}${plant === undefined ? "" : `, PLANT ${plant}`}; histories in ${outDir}`);
  const results = [];
  for (let i = 0; i < runs; i++) {
    const runSeed = seed + i;
    const servers = (fixedServers ?? (i % 2 === 0 ? 3 : 5)) as 3 | 5;
    log(`run ${i + 1}/${runs}: seed ${runSeed}, ${servers} servers, ${seconds} s of faults`);
    const result = await runOnce({ seed: runSeed, servers, seconds, clients, keys, plant, plaintext: values.plaintext === true, outDir, log })
      .catch((error: unknown) => crashedRun({ seed: runSeed, servers }, error));
    results.push(result);
    const failures = runFailures(result);
    const j = result.judgement;
    log(`run ${i + 1}/${runs}: seed ${runSeed}: ${result.operations} operations (${result.indeterminateOperations} unknown), porcupine ${j?.porcupine ?? "-"} in ${j?.porcupineMs ?? 0} ms, lincheck ${j?.lincheck ?? "-"}, ${result.seconds.toFixed(0)} s`);
    for (const failure of failures) log(`  FAILED (seed ${runSeed}, replay: npm run faults -- --seed ${runSeed} --servers ${servers}${plant === undefined ? "" : ` --plant ${plant}`}): ${failure}`);
    const report = j?.lincheckReport?.split("\n").slice(0, 25).join("\n    ");
    if (report !== undefined) log(`  src/lincheck says:\n    ${report}`);
    for (const problem of result.problems.filter((p) => !failures.includes(p))) log(`  note: ${problem.split("\n")[0] ?? ""}`);
  }
  const summary = summarize(results, seed, plant, outDir);
  if (values.json === true) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  const passed = plant === undefined ? summary.failedRuns.length === 0 : summary.violations > 0;
  process.exitCode = passed ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`faults: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
