import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkHistory, DEFAULT_STEP_BUDGET, formatCheckResult, type KvInput, type KvOutput, type Operation } from "../../src/lincheck/index.js";
import { prepareKey } from "../../src/lincheck/prepare.js";
import { CANDIDATE_ORDERS, searchLinearization } from "../../src/lincheck/search.js";
import { isLinearizableByEnumeration } from "./brute-force.js";
import { seededRandom, simulateLinearizableHistory, type SimulationConfig } from "./simulate.js";

const SEEDS = Array.from({ length: 20 }, (_, i) => ({ seed: 1000 + i }));
const TYPICAL: SimulationConfig = { clients: 5, keys: 5, operationsPerClient: 200, unknownOutcomeRate: 0.02 };

function checkWithReport(history: Operation[], seed: number): { verdict: string; message: string } {
  const result = checkHistory(history);
  return { verdict: result.verdict, message: `seed ${seed}:\n${formatCheckResult(result)}` };
}

/** A get that saw a value, chosen by the seed. */
function pickRead(history: Operation[], random: () => number, fits: (read: Operation) => boolean = () => true): Operation {
  const reads = history.filter((operation) => operation.output?.op === "get" && operation.output.found && fits(operation));
  return reads[Math.floor(random() * reads.length)]!;
}

/**
 * Rewrites a read to return an older version that two completed writes had already
 * replaced before the read was called: illegal, whatever the concurrency around it,
 * because the key's version can only have grown past the newer write's version.
 */
function makeStaleRead(history: Operation[], random: () => number): boolean {
  const writes = history.filter((operation) => operation.output?.op === "put" || (operation.output?.op === "cas" && operation.output.ok));
  const versionOf = (write: Operation): number => (write.output as { version: number }).version;
  const read = pickRead(history, random, (candidate) => {
    const before = writes.filter((write) => write.input.key === candidate.input.key && write.returnTime < candidate.callTime);
    return before.length >= 2;
  });
  if (read === undefined) return false;
  const before = writes.filter((write) => write.input.key === read.input.key && write.returnTime < read.callTime);
  const oldest = before.reduce((a, b) => (versionOf(a) < versionOf(b) ? a : b));
  const input = oldest.input as KvInput & { value: string };
  read.output = { op: "get", found: true, value: input.value, version: versionOf(oldest) };
  return true;
}

describe("lincheck: histories of a simulated linearizable store", () => {
  it.each(SEEDS)("1000 ops, 5 clients, 5 keys, 1 in 50 timing out: ok (seed $seed)", ({ seed }) => {
    const { verdict, message } = checkWithReport(simulateLinearizableHistory(seed, TYPICAL), seed);
    expect(verdict, message).toBe("ok");
  });

  it.each(SEEDS)("the same with one read's value replaced by one never written: illegal (seed $seed)", ({ seed }) => {
    const history = simulateLinearizableHistory(seed, TYPICAL);
    const read = pickRead(history, seededRandom(seed));
    read.output = { ...(read.output as KvOutput & { op: "get"; found: true }), value: "never-written" };
    const { verdict, message } = checkWithReport(history, seed);
    expect(verdict, message).toBe("illegal");
  });

  it.each(SEEDS)("the same with one read made stale: illegal (seed $seed)", ({ seed }) => {
    const history = simulateLinearizableHistory(seed, TYPICAL);
    expect(makeStaleRead(history, seededRandom(seed)), `seed ${seed}: no read to make stale`).toBe(true);
    const { verdict, message } = checkWithReport(history, seed);
    expect(verdict, message).toBe("illegal");
  });

  it.each([
    { clients: 10, keys: 1, operationsPerClient: 100, unknownOutcomeRate: 0.05 },
    { clients: 20, keys: 5, operationsPerClient: 50, unknownOutcomeRate: 0.1 },
    { clients: 3, keys: 2, operationsPerClient: 300, unknownOutcomeRate: 0.3 },
  ])("harder mixes stay ok: $clients clients, $keys keys, timeout rate $unknownOutcomeRate", (config) => {
    for (const { seed } of SEEDS.slice(0, 5)) {
      const { verdict, message } = checkWithReport(simulateLinearizableHistory(seed, config), seed);
      expect(verdict, message).toBe("ok");
    }
  });

  it("checks 1000 ops over 5 keys well under a second", () => {
    const history = simulateLinearizableHistory(7, TYPICAL);
    checkHistory(history); // Warm up the JIT so that the timing measures the checker.
    const startMs = performance.now();
    expect(checkHistory(history).verdict).toBe("ok");
    expect(performance.now() - startMs).toBeLessThan(250);
  });
});

/** Small single-key histories with outputs drawn from small domains: some linearizable, most not. */
const smallHistory = fc.array(
  fc.record({
    kind: fc.constantFrom("get", "put", "cas", "delete"),
    callTime: fc.integer({ min: 0, max: 10 }),
    durationTime: fc.integer({ min: 0, max: 6 }),
    timedOut: fc.integer({ min: 0, max: 5 }).map((roll) => roll === 0),
    value: fc.constantFrom("a", "b", "c", "d"),
    version: fc.integer({ min: 1, max: 4 }),
    expectVersion: fc.integer({ min: 0, max: 3 }),
    flag: fc.boolean(),
  }),
  { minLength: 1, maxLength: 8 },
).map((drafts) =>
  drafts.map(({ kind, callTime, durationTime, timedOut, value, version, expectVersion, flag }, clientId): Operation => {
    const key = "k";
    const [input, output]: [KvInput, KvOutput] =
      kind === "get"
        ? [{ op: "get", key }, flag ? { op: "get", found: true, value, version } : { op: "get", found: false }]
        : kind === "put"
          ? [{ op: "put", key, value }, { op: "put", version }]
          : kind === "cas"
            ? [{ op: "cas", key, expectVersion, value }, flag ? { op: "cas", ok: true, version } : { op: "cas", ok: false }]
            : [{ op: "delete", key }, { op: "delete", deleted: flag }];
    // A timed-out op records either no return or the time its client gave up.
    const returnTime = timedOut && flag ? Number.POSITIVE_INFINITY : callTime + durationTime;
    return { clientId, input, output: timedOut ? undefined : output, callTime, returnTime };
  }),
);

describe("lincheck: agrees with trying every order", () => {
  it("on small random histories, with both verdicts well represented", () => {
    const verdicts = { ok: 0, illegal: 0 };
    fc.assert(
      fc.property(smallHistory, (history) => {
        const expected = isLinearizableByEnumeration(history) ? "ok" : "illegal";
        verdicts[expected]++;
        expect(checkHistory(history).verdict).toBe(expected);
      }),
      { numRuns: 3000 },
    );
    expect(verdicts.ok).toBeGreaterThan(300);
    expect(verdicts.illegal).toBeGreaterThan(300);
  });

  // checkHistory settles many illegal histories before searching (version order); this
  // holds the search itself, in each candidate order, to the same reference.
  it.each(CANDIDATE_ORDERS.map((order) => ({ order })))("in the search alone, in the order $order", ({ order }) => {
    fc.assert(
      fc.property(smallHistory, (history) => {
        const expected = isLinearizableByEnumeration(history) ? "ok" : "illegal";
        const { searchOperations } = prepareKey(history);
        expect(searchLinearization(searchOperations, DEFAULT_STEP_BUDGET, [order]).verdict).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
