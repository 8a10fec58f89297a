import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KvOutput, Operation } from "../../src/lincheck/index.js";
import { cas, casUnknown, del, delUnknown, get, put, putUnknown } from "../lincheck/builders.js";
import { seededRandom, simulateLinearizableHistory } from "../lincheck/simulate.js";
import { judge } from "./judge.js";

/**
 * Porcupine (through tools/go/porcupine-check) and src/lincheck must agree on every
 * history: linearizable ones built by a simulated store, the same with one read corrupted,
 * and small hand-made ones around unknown outcomes and versions.
 */
describe("faults: porcupine and src/lincheck agree", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kvraft-judges-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const judged = async (history: Operation[], name: string): Promise<{ porcupine: string; lincheck: string; html: boolean }> => {
    const j = await judge(history, join(dir, `${name}.json`), join(dir, `${name}.html`));
    return { porcupine: j.porcupine, lincheck: j.lincheck, html: j.visualizationPath !== undefined && existsSync(j.visualizationPath) };
  };

  const config = { clients: 6, keys: 4, operationsPerClient: 150, unknownOutcomeRate: 0.05 };
  const seeds = Array.from({ length: 12 }, (_, i) => 500 + i);

  it.each(seeds)("a linearizable history with unknown outcomes: both ok (seed %i)", async (seed) => {
    const verdicts = await judged(simulateLinearizableHistory(seed, config), `ok-${seed}`);
    expect(verdicts, `seed ${seed}`).toEqual({ porcupine: "ok", lincheck: "ok", html: false });
  }, 60_000);

  it.each(seeds)("the same with one read's value replaced by one never written: both illegal, HTML written (seed %i)", async (seed) => {
    const history = simulateLinearizableHistory(seed, config);
    const random = seededRandom(seed);
    const reads = history.filter((op) => op.output?.op === "get" && op.output.found && op.output.version > 1);
    const read = reads[Math.floor(random() * reads.length)] as Operation;
    const output = read.output as KvOutput & { op: "get"; found: true };
    read.output = { ...output, value: `${output.value}-corrupt` };
    const verdicts = await judged(history, `bad-${seed}`);
    expect(verdicts, `seed ${seed}`).toEqual({ porcupine: "illegal", lincheck: "illegal", html: true });
  }, 60_000);

  it.each(seeds)("the same with one read made stale (an older write's value and version): both illegal (seed %i)", async (seed) => {
    const history = simulateLinearizableHistory(seed, config);
    const random = seededRandom(seed);
    const writes = history.filter((op) => op.output?.op === "put" || (op.output?.op === "cas" && op.output.ok));
    const versionOf = (op: Operation): number => (op.output as { version: number }).version;
    // Two writes of the key completed before the read began: the older one's value is stale for sure.
    const staleFor = (read: Operation): Operation | undefined => {
      const before = writes.filter((w) => w.input.key === read.input.key && w.returnTime < read.callTime).sort((a, b) => versionOf(a) - versionOf(b));
      return before.length >= 2 ? before[0] : undefined;
    };
    const reads = history.filter((op) => op.output?.op === "get" && staleFor(op) !== undefined);
    expect(reads.length, `seed ${seed}: no read to make stale`).toBeGreaterThan(0);
    const read = reads[Math.floor(random() * reads.length)] as Operation;
    const old = staleFor(read) as Operation;
    read.output = { op: "get", found: true, value: (old.input as { value: string }).value, version: versionOf(old) };
    const verdicts = await judged(history, `stale-${seed}`);
    expect(verdicts, `seed ${seed}`).toEqual({ porcupine: "illegal", lincheck: "illegal", html: true });
  }, 60_000);

  it.each(seeds)("a history where one call in five timed out: both ok (seed %i)", async (seed) => {
    const verdicts = await judged(simulateLinearizableHistory(seed, { ...config, operationsPerClient: 60, unknownOutcomeRate: 0.2 }), `unknowns-${seed}`);
    expect(verdicts, `seed ${seed}`).toEqual({ porcupine: "ok", lincheck: "ok", html: false });
  }, 60_000);

  const cases: { name: string; history: Operation[]; verdict: "ok" | "illegal" }[] = [
    { name: "an unknown put later seen by a get", verdict: "ok",
      history: [put("a", "x", 5, [0, 10]), putUnknown("a", "y", 11), get("a", ["y", 9], [20, 30], 1)] },
    { name: "an unknown put seen at a version not above the last one seen", verdict: "illegal",
      history: [put("a", "x", 5, [0, 10]), putUnknown("a", "y", 11), get("a", ["y", 5], [20, 30], 1)] },
    { name: "a cas on the version an unknown put created", verdict: "ok",
      history: [put("a", "x", 5, [0, 10]), putUnknown("a", "y", 11), cas("a", 8, "z", 12, [20, 30], 1), get("a", ["z", 12], [31, 40])] },
    { name: "a cas that succeeded on a version older than one seen", verdict: "illegal",
      history: [put("a", "x", 5, [0, 10]), put("a", "y", 7, [11, 20]), cas("a", 5, "z", 12, [21, 30], 1)] },
    { name: "an unknown delete that took effect", verdict: "ok",
      history: [put("a", "x", 5, [0, 10]), delUnknown("a", 11), get("a", undefined, [20, 30], 1)] },
    { name: "a delete of a key present for sure that found nothing", verdict: "illegal",
      history: [put("a", "x", 5, [0, 10]), del("a", false, [11, 20], 1)] },
    { name: "an unknown cas that did not take effect", verdict: "ok",
      history: [put("a", "x", 5, [0, 10]), casUnknown("a", 5, "q", 11), get("a", ["x", 5], [20, 30], 1)] },
    { name: "a read of a value overwritten before it began", verdict: "illegal",
      history: [put("a", "x", 5, [0, 10]), put("a", "y", 7, [11, 20]), get("a", ["x", 5], [21, 30], 1)] },
  ];

  it.each(cases)("$name: both $verdict", async ({ name, history, verdict }) => {
    const verdicts = await judged(history, name.replaceAll(" ", "-"));
    expect({ porcupine: verdicts.porcupine, lincheck: verdicts.lincheck }).toEqual({ porcupine: verdict, lincheck: verdict });
  }, 60_000);
});
