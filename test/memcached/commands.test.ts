import { describe, expect, it } from "vitest";
import { BusyError, InvalidRequestError, KvTimeoutError, NoSpaceError, NotLeaderError, UnavailableError } from "../../src/server/errors.js";
import { FakeKvService, T0_MS } from "../support/fake-kv-service.js";
import { converse, testContext } from "./helpers.js";

/** A step sends protocol text and expects the replies, or moves the service's clock. */
type Step = readonly [send: string, expected: string] | { readonly advanceMs: number };

const setK = "set k 0 0 1\r\na\r\n";
const T0_SECONDS = T0_MS / 1000;

/** [what it pins, steps]; each scenario starts from an empty store at T0_MS. Versions are log indexes. */
const SCENARIOS: [string, Step[]][] = [
  ["set then get and gets (the cas unique is the version)", [
    ["set k 7 0 2\r\nhi\r\n", "STORED\r\n"],
    ["get k\r\n", "VALUE k 7 2\r\nhi\r\nEND\r\n"],
    ["gets k\r\n", "VALUE k 7 2 1\r\nhi\r\nEND\r\n"],
  ]],
  ["get of many keys answers the hits in request order", [
    [setK + "set b 0 0 1\r\nb\r\n", "STORED\r\nSTORED\r\n"],
    ["get b nope k b\r\n", "VALUE b 0 1\r\nb\r\nVALUE k 0 1\r\na\r\nVALUE b 0 1\r\nb\r\nEND\r\n"],
  ]],
  ["add stores only an absent key", [["add k 0 0 1\r\nx\r\n", "STORED\r\n"], ["add k 0 0 1\r\ny\r\n", "NOT_STORED\r\n"], ["get k\r\n", "VALUE k 0 1\r\nx\r\nEND\r\n"]]],
  ["replace stores only a present key", [["replace k 0 0 1\r\nx\r\n", "NOT_STORED\r\n"], [setK, "STORED\r\n"], ["replace k 3 0 1\r\ny\r\n", "STORED\r\n"], ["get k\r\n", "VALUE k 3 1\r\ny\r\nEND\r\n"]]],
  ["append and prepend keep the flags and need the key", [
    ["append k 0 0 1\r\nx\r\nprepend k 0 0 1\r\nx\r\n", "NOT_STORED\r\nNOT_STORED\r\n"],
    ["set k 9 0 2\r\nbc\r\nappend k 1 0 1\r\nd\r\nprepend k 1 0 1\r\na\r\n", "STORED\r\nSTORED\r\nSTORED\r\n"],
    ["get k\r\n", "VALUE k 9 4\r\nabcd\r\nEND\r\n"],
  ]],
  ["cas: the right unique stores, a stale one is EXISTS, a missing key NOT_FOUND", [
    [setK, "STORED\r\n"],
    ["cas k 0 0 1 1\r\nb\r\n", "STORED\r\n"],
    ["cas k 0 0 1 1\r\nc\r\n", "EXISTS\r\n"],
    ["gets k\r\n", "VALUE k 0 1 2\r\nb\r\nEND\r\n"],
    ["cas nope 0 0 1 2\r\nc\r\n", "NOT_FOUND\r\n"],
  ]],
  ["cas with unique 0 (or past 2^53) never stores: EXISTS or NOT_FOUND", [
    ["cas k 0 0 1 0\r\nb\r\n", "NOT_FOUND\r\n"],
    [setK, "STORED\r\n"],
    ["cas k 0 0 1 0\r\nb\r\ncas k 0 0 1 18446744073709551615\r\nb\r\n", "EXISTS\r\nEXISTS\r\n"],
    ["get nope k\r\n", "VALUE k 0 1\r\na\r\nEND\r\n"],
  ]],
  ["delete", [["delete k\r\n", "NOT_FOUND\r\n"], [setK, "STORED\r\n"], ["delete k\r\n", "DELETED\r\n"], ["get k\r\n", "END\r\n"]]],
  ["incr and decr: uint64, incr wraps, decr stops at 0", [
    ["incr n 1\r\n", "NOT_FOUND\r\n"],
    ["set n 5 0 1\r\n5\r\nincr n 10\r\ndecr n 3\r\ndecr n 100\r\n", "STORED\r\n15\r\n12\r\n0\r\n"],
    ["set n 0 0 20\r\n18446744073709551615\r\nincr n 2\r\n", "STORED\r\n1\r\n"],
    ["get n\r\n", "VALUE n 0 1\r\n1\r\nEND\r\n"],
  ]],
  ["incr on a value that is not a number", [[setK, "STORED\r\n"], ["incr k 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"]]],
  ["touch sets a new expiry; 0 removes it", [
    ["touch k 10\r\n", "NOT_FOUND\r\n"],
    ["set k 0 5 1\r\na\r\ntouch k 0\r\n", "STORED\r\nTOUCHED\r\n"],
    { advanceMs: 6000 },
    ["get k\r\ntouch k 10\r\n", "VALUE k 0 1\r\na\r\nEND\r\nTOUCHED\r\n"],
    { advanceMs: 10_000 },
    ["get k\r\n", "END\r\n"],
  ]],
  ["exptime up to 30 days is relative seconds", [
    ["set k 0 2592000 1\r\na\r\n", "STORED\r\n"],
    { advanceMs: 2_592_000_000 - 1 },
    ["get k\r\n", "VALUE k 0 1\r\na\r\nEND\r\n"],
    { advanceMs: 1 },
    ["get k\r\n", "END\r\n"],
  ]],
  ["exptime past 30 days is an absolute Unix time", [
    [`set k 0 ${T0_SECONDS + 100} 1\r\na\r\n`, "STORED\r\n"],
    { advanceMs: 99_999 },
    ["get k\r\n", "VALUE k 0 1\r\na\r\nEND\r\n"],
    { advanceMs: 1 },
    ["get k\r\n", "END\r\n"],
  ]],
  ["set with a negative or past exptime: STORED, and nothing visible (the old value goes too)", [
    [setK, "STORED\r\n"],
    ["set k 0 -1 1\r\nb\r\n", "STORED\r\n"],
    ["get k\r\n", "END\r\n"],
    [setK + `set k 0 ${T0_SECONDS} 1\r\nb\r\n`, "STORED\r\nSTORED\r\n"],
    ["get k\r\n", "END\r\n"],
  ]],
  ["add with a negative exptime: NOT_STORED on a present key, else STORED and invisible", [
    ["add k 0 -1 1\r\nb\r\n", "STORED\r\n"],
    ["get k\r\n", "END\r\n"],
    [setK + "add k 0 -1 1\r\nb\r\n", "STORED\r\nNOT_STORED\r\n"],
    ["get k\r\n", "VALUE k 0 1\r\na\r\nEND\r\n"],
  ]],
  ["replace, cas and touch with a negative exptime remove a present key", [
    ["replace k 0 -1 1\r\nb\r\n", "NOT_STORED\r\n"],
    [setK + "replace k 0 -1 1\r\nb\r\n", "STORED\r\nSTORED\r\n"],
    ["get k\r\n", "END\r\n"],
    [setK + "cas k 0 -1 1 1\r\nb\r\ncas k 0 -1 1 4\r\nb\r\n", "STORED\r\nEXISTS\r\nSTORED\r\n"],
    ["get k\r\ncas k 0 -1 1 4\r\nb\r\n", "END\r\nNOT_FOUND\r\n"],
    [setK + "touch k -1\r\ntouch k -1\r\n", "STORED\r\nTOUCHED\r\nNOT_FOUND\r\n"],
  ]],
  ["gat and gats answer the value and set the expiry", [
    ["set k 3 0 1\r\na\r\ngat 10 k nope\r\ngats 10 k\r\n", "STORED\r\nVALUE k 3 1\r\na\r\nEND\r\nVALUE k 3 1 1\r\na\r\nEND\r\n"],
    { advanceMs: 10_000 },
    ["get k\r\n", "END\r\n"],
  ]],
  ["gat with a negative exptime answers the value, then it is gone", [
    [setK + "gat -1 k\r\n", "STORED\r\nVALUE k 0 1\r\na\r\nEND\r\n"],
    ["get k\r\n", "END\r\n"],
  ]],
  ["flush_all removes every key", [[setK + "set b 0 0 1\r\nb\r\nflush_all\r\n", "STORED\r\nSTORED\r\nOK\r\n"], ["get k b\r\n", "END\r\n"]]],
  ["noreply suppresses replies, failures included", [
    ["set k 0 0 1 noreply\r\na\r\nincr k 1 noreply\r\ndelete nope noreply\r\nflush_all noreply\r\n", ""],
    ["get k\r\n", "END\r\n"],
  ]],
  ["version, verbosity, stats", [
    ["version\r\nverbosity 1\r\nverbosity 1 noreply\r\n", "VERSION 0.1.0\r\nOK\r\n"],
    ["stats\r\nstats settings\r\nstats slabs\r\nstats reset\r\n", "STAT pid 1\r\nEND\r\nSTAT maxconns 1\r\nEND\r\nEND\r\nRESET\r\n"],
  ]],
  ["flags keep all 32 bits", [["set k 4294967295 0 1\r\na\r\n", "STORED\r\n"], ["get k\r\n", "VALUE k 4294967295 1\r\na\r\nEND\r\n"]]],
];

describe("memcached commands on the KV service", () => {
  it.each(SCENARIOS)("%s", async (_name, steps) => {
    const service = new FakeKvService();
    const context = testContext(service);
    for (const step of steps) {
      if ("advanceMs" in step) {
        service.clock.advance(step.advanceMs);
        continue;
      }
      expect(await converse(context, step[0]), step[0]).toBe(step[1]);
    }
    expect(context.internalErrors).toEqual([]);
  });

  it("a negative exptime is carried out by deleting, never by a put with a tiny ttl", async () => {
    const service = new FakeKvService();
    await converse(testContext(service), "set k 0 -1 1\r\na\r\n");
    expect(service.writes.map((command) => command.type)).toEqual(["delete"]);
  });

  it("cas with unique 0 reads and writes nothing", async () => {
    const service = new FakeKvService();
    await converse(testContext(service), "cas k 0 0 1 0\r\na\r\n");
    expect(service.writes).toEqual([]);
  });

  it("flush_all with a delay goes into the log at once, with exptime's meaning, and takes effect at its stamp", async () => {
    const service = new FakeKvService();
    const context = testContext(service);
    const value = "VALUE k 0 1\r\na\r\nEND\r\n";
    expect(await converse(context, `${setK}flush_all 10\r\nget k\r\n`)).toBe(`STORED\r\nOK\r\n${value}`);
    expect(service.writes.at(-1)).toEqual({ type: "flush-all", ttlMs: 10_000 });
    service.clock.advance(9_999);
    expect(await converse(context, "get k\r\n")).toBe(value);
    service.clock.advance(1);
    expect(await converse(context, "get k\r\n")).toBe("END\r\n");
    // A key written after the flush time survives it.
    expect(await converse(context, `${setK}get k\r\n`)).toBe(`STORED\r\n${value}`);
    // The latest flush_all decides: an absolute time replaces the pending one, an immediate one cancels it.
    const nowSeconds = Math.floor(service.clock.nowMs / 1000);
    expect(await converse(context, `flush_all ${nowSeconds + 60}\r\nflush_all 5\r\n`)).toBe("OK\r\nOK\r\n");
    service.clock.advance(5_000);
    expect(await converse(context, "get k\r\n")).toBe("END\r\n");
    expect(await converse(context, `${setK}flush_all 5\r\nflush_all 0\r\n${setK}`)).toBe("STORED\r\nOK\r\nOK\r\nSTORED\r\n");
    service.clock.advance(10_000);
    expect(await converse(context, "get k\r\n")).toBe(value);
    expect(await converse(context, `flush_all ${T0_SECONDS - 1}\r\nget k\r\n`)).toBe("OK\r\nEND\r\n");
  });

  it("gat tries again when a write lands between its touch and its read", async () => {
    const service = new FakeKvService();
    const context = testContext(service);
    await converse(context, setK);
    const read = service.getMany.bind(service);
    let interfered = false;
    service.getMany = async (keys, options) => {
      if (!interfered) {
        interfered = true;
        await service.write({ type: "put", key: keys[0]!, value: new TextEncoder().encode("new") });
      }
      return read(keys, options);
    };
    // The first touch saw version 2; the read found 3; the second pair agrees at 3.
    expect(await converse(context, "gats 10 k\r\n")).toBe("VALUE k 0 3 3\r\nnew\r\nEND\r\n");
    expect(service.writes.map((command) => command.type)).toEqual(["put", "touch", "put", "touch"]);
  });

  it("counts gets, hits and misses as memcached's stats name them", async () => {
    const context = testContext(new FakeKvService());
    await converse(context, `${setK}get k nope\r\ngets k\r\n`);
    expect([context.counters.get("cmd_get"), context.counters.get("get_hits"), context.counters.get("get_misses")]).toEqual([3, 2, 1]);
    expect(context.counters.get("cmd_set")).toBe(1);
  });
});

describe("memcached replies for the service's failures", () => {
  const SERVICE_ERRORS: [string, Error, string][] = [
    ["BusyError", new BusyError("too many requests in flight: retry after a pause"), "SERVER_ERROR too many requests in flight: retry after a pause\r\n"],
    ["KvTimeoutError", new KvTimeoutError("timed out after 1000 ms"), "SERVER_ERROR timed out after 1000 ms\r\n"],
    ["UnavailableError", new UnavailableError("the node is stopping"), "SERVER_ERROR the node is stopping\r\n"],
    ["NotLeaderError", new NotLeaderError(undefined), "SERVER_ERROR no leader is known right now (an election is under way): retry shortly\r\n"],
    ["NoSpaceError", new NoSpaceError("quota reached"), "SERVER_ERROR out of memory storing object\r\n"],
    ["InvalidRequestError", new InvalidRequestError("flags out of range"), "CLIENT_ERROR flags out of range\r\n"],
  ];

  it.each(SERVICE_ERRORS)("%s", async (_name, error, reply) => {
    const service = new FakeKvService();
    service.failNext(error);
    const context = testContext(service);
    expect(await converse(context, setK)).toBe(reply);
    service.failNext(error);
    expect(await converse(context, "get k\r\n")).toBe(reply);
  });

  it("a failure that is not a KvServiceError is a bug: SERVER_ERROR, and reported", async () => {
    const service = new FakeKvService();
    const context = testContext(service);
    service.failNext(new TypeError("undefined is not a function"));
    expect(await converse(context, "get k\r\nversion\r\n")).toBe("SERVER_ERROR internal error: see the server's log\r\nVERSION 0.1.0\r\n");
    expect(context.internalErrors).toHaveLength(1);
  });

  it("the leader's quota refusal is out of memory", async () => {
    const context = testContext(new FakeKvService({ quotaBytes: 10 }));
    expect(await converse(context, "set k 0 0 20\r\n12345678901234567890\r\ndelete k\r\n")).toBe(
      "SERVER_ERROR out of memory storing object\r\nNOT_FOUND\r\n",
    );
  });

  it("the store's own limits: too large after append, a ttl over ttlMsMax", async () => {
    const context = testContext(new FakeKvService({ kvConfig: { valueBytesMax: 4, ttlMsMax: 60_000 } }));
    expect(await converse(context, "set k 0 0 3\r\nabc\r\nappend k 0 0 2\r\nde\r\n")).toBe("STORED\r\nSERVER_ERROR object too large for cache\r\n");
    expect(await converse(context, "set k 0 61 1\r\na\r\n")).toMatch(/^CLIENT_ERROR ttlMs 61000 is outside \[1, 60000\]/);
  });
});
