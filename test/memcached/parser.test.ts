import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RequestParser } from "../../src/server/memcached/parser.js";
import { TEST_LIMITS, parseAll, summarize } from "./helpers.js";

const K250 = "k".repeat(250);
const K251 = "k".repeat(251);
const BAD_FORMAT = "CLIENT_ERROR bad command line format";

/** [what it pins, input, events the parser yields (see `summarize`)]. TEST_LIMITS: values <= 64 bytes, <= 8 keys. */
const TABLE: [string, string, string[]][] = [
  // storage commands
  ["set with its data block", "set k 5 10 3\r\nabc\r\n", ['set "k" flags=5 exptime=10 data="abc"']],
  ["set noreply", "set k 0 0 1 noreply\r\na\r\n", ['set "k" flags=0 exptime=0 data="a" noreply']],
  ["add, replace, append, prepend", "add a 1 2 1\r\nx\r\nreplace b 0 0 0\r\n\r\nappend c 0 0 1\r\ny\r\nprepend d 0 0 1\r\nz\r\n", [
    'add "a" flags=1 exptime=2 data="x"', 'replace "b" flags=0 exptime=0 data=""',
    'append "c" flags=0 exptime=0 data="y"', 'prepend "d" flags=0 exptime=0 data="z"',
  ]],
  ["cas carries the unique (uint64)", "cas k 0 0 1 18446744073709551615 noreply\r\nv\r\n", ['cas "k" flags=0 exptime=0 cas=18446744073709551615 data="v" noreply']],
  ["data may hold \\r\\n and any byte", "set k 0 0 4\r\n\r\n\u0000\u00ff\r\n", ['set "k" flags=0 exptime=0 data="\\r\\n\\u0000ÿ"']],
  ["flags are uint32", "set k 4294967295 0 1\r\na\r\n", ['set "k" flags=4294967295 exptime=0 data="a"']],
  ["negative exptime", "set k 0 -1 1\r\na\r\n", ['set "k" flags=0 exptime=-1 data="a"']],
  ["a bare \\n ends a line, as memcached allows", "set k 0 0 1\na\r\n", ['set "k" flags=0 exptime=0 data="a"']],
  ["spaces between tokens collapse", "set  k   0 0 1 \r\na\r\n", ['set "k" flags=0 exptime=0 data="a"']],
  ["a 250-byte key is fine", `set ${K250} 0 0 0\r\n\r\n`, [`set "${K250}" flags=0 exptime=0 data=""`]],
  // storage errors
  ["bad data terminator: bad data chunk, and <bytes> + 2 are consumed", "set k 0 0 1\r\nabc\r\nversion\r\n", ["CLIENT_ERROR bad data chunk", "ERROR", "version"]],
  ["bad data chunk keeps noreply", "set k 0 0 1 noreply\r\nabXversion\r\n", ["CLIENT_ERROR bad data chunk [noreply]", "version"]],
  ["too large: refused, its data swallowed", `set k 0 0 65\r\n${"x".repeat(65)}\r\nversion\r\n`, ["SERVER_ERROR object too large for cache", "version"]],
  ["too large noreply", `set k 0 0 100 noreply\r\n${"x".repeat(100)}\r\nversion\r\n`, ["SERVER_ERROR object too large for cache [noreply]", "version"]],
  ["key over 250 bytes: refused, data swallowed", `set ${K251} 0 0 2\r\nab\r\nversion\r\n`, ["CLIENT_ERROR key is 251 bytes, over memcached's limit of 250", "version"]],
  ["control byte in a key", "set a\tb 0 0 1\r\nx\r\nversion\r\n", ["CLIENT_ERROR key contains a control character", "version"]],
  ["flags over uint32", "set k 4294967296 0 1\r\nx\r\n", [BAD_FORMAT]],
  ["negative flags", "set k -1 0 1\r\nx\r\n", [BAD_FORMAT]],
  ["exptime not a number", "set k 0 soon 1\r\nx\r\n", [BAD_FORMAT]],
  ["exptime over int32", "set k 0 2147483648 1\r\nx\r\n", [BAD_FORMAT]],
  ["a word other than noreply at the end", "set k 0 0 1 please\r\nx\r\nversion\r\n", [BAD_FORMAT, "version"]],
  ["bad cas unique", "cas k 0 0 1 -5\r\nx\r\n", [BAD_FORMAT]],
  ["negative byte count: no way to find the data, which is read as a line", "set k 0 0 -1\r\nversion\r\n", [BAD_FORMAT, "version"]],
  ["too few tokens: ERROR, like memcached", "set k 0 0\r\n", ["ERROR"]],
  ["too many tokens", "set k 0 0 1 noreply extra\r\n", ["ERROR"]],
  // retrieval
  ["get of one key", "get k\r\n", ['get "k"']],
  ["gets of many keys", "gets a b c\r\n", ['gets "a" "b" "c"']],
  ["get with no key", "get\r\n", ["ERROR"]],
  ["get over getKeysMax", "get 1 2 3 4 5 6 7 8 9\r\n", ["CLIENT_ERROR 9 keys in one request, over the limit of 8 (getKeysMax): split the request"]],
  ["get with a long key", `get a ${K251}\r\n`, ["CLIENT_ERROR key is 251 bytes, over memcached's limit of 250"]],
  ["gat and gats", "gat 10 a b\r\ngats -1 c\r\n", ['gat exptime=10 "a" "b"', 'gats exptime=-1 "c"']],
  ["gat without keys", "gat 10\r\n", ["ERROR"]],
  ["gat with a bad exptime", "gat x a\r\n", [BAD_FORMAT]],
  // delete, incr/decr, touch
  ["delete", "delete k\r\ndelete k noreply\r\ndelete k 0\r\ndelete k 0 noreply\r\n", ['delete "k"', 'delete "k" noreply', 'delete "k"', 'delete "k" noreply']],
  ["delete with a hold time other than 0", "delete k 5\r\n", ["CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"]],
  ["incr and decr", "incr k 1\r\ndecr k 18446744073709551615 noreply\r\n", ['incr "k" delta=1', 'decr "k" delta=18446744073709551615 noreply']],
  ["incr with a bad delta", "incr k -1\r\nincr k 18446744073709551616\r\nincr k x\r\n", [
    "CLIENT_ERROR invalid numeric delta argument", "CLIENT_ERROR invalid numeric delta argument", "CLIENT_ERROR invalid numeric delta argument",
  ]],
  ["incr arity", "incr k\r\n", ["ERROR"]],
  ["touch", "touch k 10\r\ntouch k -1 noreply\r\n", ['touch "k" exptime=10', 'touch "k" exptime=-1 noreply']],
  ["touch with a bad exptime", "touch k x\r\n", ["CLIENT_ERROR invalid exptime argument"]],
  // other commands
  ["flush_all forms", "flush_all\r\nflush_all 10\r\nflush_all noreply\r\nflush_all 0 noreply\r\n", [
    "flush_all delay=0", "flush_all delay=10", "flush_all delay=0 noreply", "flush_all delay=0 noreply",
  ]],
  ["flush_all with a bad delay", "flush_all soon\r\n", [BAD_FORMAT]],
  ["version, verbosity, quit", "version\r\nverbosity 1\r\nverbosity 0 noreply\r\nquit\r\n", ["version", "verbosity", "verbosity noreply", "quit"]],
  ["stats groups", "stats\r\nstats settings\r\nstats reset\r\nstats slabs\r\nstats items\r\n", [
    "stats general", "stats settings", "stats reset", "stats empty", "stats empty",
  ]],
  ["unknown stats group", "stats cachedump 1 2\r\nstats nonsense\r\n", ["ERROR", "ERROR"]],
  // errors
  ["unknown command", "frobnicate k\r\n", ["ERROR"]],
  ["commands are case-sensitive, like memcached's", "GET k\r\n", ["ERROR"]],
  ["an empty line", "\r\n", ["ERROR"]],
  ["meta commands parse (meta.test.ts has their details)", "mg k v\r\nmn\r\n", ["meta", "meta-noop"]],
  ["verbosity noreply (no level, as libmemcached sends it)", "verbosity noreply\r\n", ["verbosity noreply"]],
  ["version takes no argument", "version 2\r\n", ["ERROR"]],
];

describe("memcached parser: each command and each error reply", () => {
  it.each(TABLE)("%s", (_name, input, expected) => {
    expect(parseAll(input).map(summarize)).toEqual(expected);
  });
});

describe("memcached parser: framing and limits", () => {
  it("waits for the rest of a line and of a data block", () => {
    const parser = new RequestParser(TEST_LIMITS);
    parser.push(Buffer.from("set k 0 0 3\r\nab"));
    expect(parser.next()).toBeUndefined();
    parser.push(Buffer.from("c\r"));
    expect(parser.next()).toBeUndefined();
    parser.push(Buffer.from("\nget"));
    expect(summarize(parser.next()!)).toBe('set "k" flags=0 exptime=0 data="abc"');
    expect(parser.next()).toBeUndefined();
    parser.push(Buffer.from(" k\r\n"));
    expect(summarize(parser.next()!)).toBe('get "k"');
  });

  it("a line over lineBytesMax without its end: CLIENT_ERROR and close, nothing after", () => {
    const parser = new RequestParser(TEST_LIMITS);
    parser.push(Buffer.from("get " + "k".repeat(TEST_LIMITS.lineBytesMax)));
    expect(summarize(parser.next()!)).toBe("CLIENT_ERROR line too long: over 1024 bytes (lineBytesMax) [close]");
    parser.push(Buffer.from("\r\nversion\r\n"));
    expect(parser.next()).toBeUndefined();
    expect(parser.closed).toBe(true);
  });

  it("a complete line over lineBytesMax also closes", () => {
    expect(parseAll(`get ${"k ".repeat(600)}\r\nversion\r\n`).map(summarize)).toEqual([
      "CLIENT_ERROR line too long: over 1024 bytes (lineBytesMax) [close]",
    ]);
  });

  it("a line of exactly lineBytesMax is read; one byte more closes", () => {
    const line = "get " + "k".repeat(TEST_LIMITS.lineBytesMax - 4);
    // Read, and its one key refused for its length: the line limit was not hit.
    expect(parseAll(`${line}\r\n`).map(summarize)).toEqual(["CLIENT_ERROR key is 1020 bytes, over memcached's limit of 250"]);
    expect(parseAll(`${line}k\r\n`).map(summarize)).toEqual(["CLIENT_ERROR line too long: over 1024 bytes (lineBytesMax) [close]"]);
  });

  it("a refused data block is skipped as it arrives, never buffered", () => {
    const parser = new RequestParser(TEST_LIMITS);
    parser.push(Buffer.from("set k 0 0 100000\r\n"));
    expect(summarize(parser.next()!)).toBe("SERVER_ERROR object too large for cache");
    for (let i = 0; i < 99; i++) {
      parser.push(new Uint8Array(1000));
      expect(parser.next()).toBeUndefined();
      expect(parser.bufferedBytes).toBe(0);
    }
    parser.push(Buffer.from("\0".repeat(1000) + "\r\nversion\r\n"));
    expect(parser.next()?.kind).toBe("version");
  });

  it("property: the events do not depend on how the bytes are split", () => {
    const script =
      "set a 1 0 3\r\nabc\r\nget a b\r\nset b 0 0 2\r\nxyz\r\ncas a 0 0 1 5 noreply\r\nq\r\n" +
      `bogus\r\nincr a 5\r\nset ${"k".repeat(251)} 0 0 1\r\nz\r\nset c 0 0 70\r\n${"v".repeat(70)}\r\n\nversion\n`;
    const bytes = Buffer.from(script, "latin1");
    const whole = parseAll(bytes).map(summarize);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 12 }), (cuts) => {
        const parser = new RequestParser(TEST_LIMITS);
        const events: string[] = [];
        let from = 0;
        for (const cut of [...cuts.sort((a, b) => a - b), bytes.length]) {
          parser.push(bytes.subarray(from, cut));
          from = cut;
          for (let event = parser.next(); event !== undefined; event = parser.next()) events.push(summarize(event));
        }
        expect(events).toEqual(whole);
      }),
      { seed: 20_240_601, numRuns: 300 },
    );
  });

  it("property: arbitrary bytes never throw, and every refusal is a protocol error reply", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const event of parseAll(bytes)) {
          if (event.kind === "protocol-error") expect(event.reply).toMatch(/^(ERROR|CLIENT_ERROR .+|SERVER_ERROR .+)$/);
        }
      }),
      { seed: 7, numRuns: 2000 },
    );
  });
});
