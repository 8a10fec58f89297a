import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemcachedServer } from "../../src/server/memcached/server.js";
import { FakeKvService } from "../support/fake-kv-service.js";
import { RawClient } from "./helpers.js";

/**
 * Random and garbled input over a real socket: the server answers with the protocol's
 * replies (errors among them) and keeps serving, so a `version` sent after the garbage
 * is still answered on the same connection.
 *
 * Resynchronising needs care, as it would with memcached: garbage may start a storage
 * command whose data block swallows what follows. Numbers in the garbage are cut to two
 * digits, so no data block is longer than 99 + 2 bytes, and RESYNC (empty lines, each
 * answered ERROR) is longer than that. "quit" is the one request that closes; it is
 * taken out of the garbage.
 */

const RESYNC = "\r\n".repeat(60);
const LINE_BYTES_MAX = 2048;
const GARBAGE_BYTES_MAX = 600;

const TEMPLATES = [
  "set k 1 0 3\r\nabc\r\n",
  "add k2 0 10 2 noreply\r\nxy\r\n",
  "replace k 0 0 1\r\nz\r\n",
  "append k 0 0 2\r\nde\r\n",
  "prepend k 0 0 2\r\nde\r\n",
  "cas k 0 0 1 7\r\nq\r\n",
  "get k k2 missing\r\n",
  "gets k\r\n",
  "gat 5 k\r\n",
  "gats -1 k2\r\n",
  "delete k noreply\r\n",
  "delete k 0\r\n",
  "incr n 5\r\n",
  "decr n 1 noreply\r\n",
  "touch k 10\r\n",
  "flush_all 0\r\n",
  "verbosity 1\r\n",
  "stats\r\n",
  "stats settings\r\n",
  "version\r\n",
];
const VOCABULARY = ["set", "get", "gets", "cas", "incr", "decr", "touch", "gat", "delete", "flush_all", "stats", "noreply", "k", "-1", "0", "99", "\t", "\u0000", "é"];

/** Digit runs cut to two digits (see above), "quit" made harmless. */
function sanitize(text: string): string {
  return text.replace(/\d{3,}/g, (digits) => digits.slice(0, 2)).replace(/quit/g, "quiz");
}

const asText = (bytes: Uint8Array): string => Buffer.from(bytes).toString("latin1");

const randomBytes = fc.uint8Array({ maxLength: GARBAGE_BYTES_MAX }).map(asText);

/** Valid requests run together, then cut, overwritten, or with bytes inserted. */
const garbledRequests = fc
  .tuple(
    fc.array(fc.constantFrom(...TEMPLATES), { minLength: 1, maxLength: 4 }),
    fc.array(
      fc.record({ at: fc.nat(), kind: fc.constantFrom("cut", "replace", "insert", "drop"), byte: fc.integer({ min: 0, max: 255 }) }),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([requests, mutations]) => {
    let text = requests.join("");
    for (const { at, kind, byte } of mutations) {
      const i = at % (text.length + 1);
      const char = String.fromCharCode(byte);
      if (kind === "cut") text = text.slice(0, i);
      else if (kind === "replace") text = text.slice(0, i) + char + text.slice(i + 1);
      else if (kind === "insert") text = text.slice(0, i) + char + text.slice(i);
      else text = text.slice(0, i) + text.slice(i + 3);
    }
    return text;
  });

/** Lines of plausible tokens in implausible orders. */
const tokenLines = fc
  .array(fc.tuple(fc.array(fc.constantFrom(...VOCABULARY), { maxLength: 8 }), fc.constantFrom("\r\n", "\n", "")), { minLength: 1, maxLength: 6 })
  .map((lines) => lines.map(([tokens, end]) => tokens.join(" ") + end).join(""));

const REPLY_LINE = /^(STORED|NOT_STORED|EXISTS|NOT_FOUND|DELETED|TOUCHED|OK|END|RESET|ERROR|CLIENT_ERROR .+|SERVER_ERROR .+|VERSION .+|STAT \S+ .*|\d+)$/;
const VALUE_LINE = /^VALUE \S+ \d+ (\d+)( \d+)?$/;

/** Checks that `output` is a sequence of well-formed replies (VALUE data blocks skipped). */
function expectWellFormedReplies(output: string): void {
  let offset = 0;
  while (offset < output.length) {
    const end = output.indexOf("\r\n", offset);
    expect(end, `unterminated reply at ${offset} in ${JSON.stringify(output)}`).toBeGreaterThanOrEqual(0);
    const line = output.slice(offset, end);
    offset = end + 2;
    const value = VALUE_LINE.exec(line);
    if (value !== null) {
      offset += Number(value[1]) + 2;
      continue;
    }
    expect(line, JSON.stringify(output)).toMatch(REPLY_LINE);
  }
}

describe("memcached server under random and garbled input", () => {
  const service = new FakeKvService();
  const server = new MemcachedServer(service, { host: "127.0.0.1", port: 0, version: "0.1.0", lineBytesMax: LINE_BYTES_MAX, valueBytesMax: 64 });
  let port = 0;

  beforeAll(async () => {
    port = (await server.start()).port;
  });

  afterAll(async () => {
    await server.stop();
  });

  /** Sends the garbage, resynchronises, and checks that `version` is still answered. */
  async function survives(garbage: string): Promise<void> {
    const client = await RawClient.connect(port);
    try {
      client.send(sanitize(garbage) + RESYNC + "version\r\n");
      const output = await client.readUntil((text) => text.endsWith("VERSION 0.1.0\r\n"));
      expectWellFormedReplies(output);
    } finally {
      client.destroy();
    }
  }

  const GENERATORS: [string, fc.Arbitrary<string>, number][] = [
    ["random bytes", randomBytes, 1],
    ["valid requests cut, overwritten and spliced", garbledRequests, 2],
    ["lines of misplaced tokens", tokenLines, 3],
  ];

  it.each(GENERATORS)("%s: answered with protocol replies, and the connection keeps serving", async (_name, garbage, seed) => {
    await fc.assert(fc.asyncProperty(garbage, survives), { seed, numRuns: 150, timeout: 10_000 });
    // The server as a whole is also still fine.
    expect(server.stats().connectionsCurrent).toBeLessThanOrEqual(1);
  });

  it("a request split at every byte boundary over many writes is answered once", async () => {
    const client = await RawClient.connect(port);
    try {
      const request = "set split 5 0 4\r\nab\r\n\r\nget split\r\n";
      for (const char of request) client.send(char);
      const expected = "STORED\r\nVALUE split 5 4\r\nab\r\n\r\nEND\r\n";
      expect(await client.readLike(expected)).toBe(expected);
    } finally {
      client.destroy();
    }
  });
});
