import { describe, expect, it } from "vitest";
import { decodeBase64, encodeBase64 } from "../../src/server/memcached/meta-line.js";
import { serializeReply } from "../../src/server/memcached/replies.js";
import { FakeKvService } from "../support/fake-kv-service.js";
import { converse, latin1, parseAll, testContext } from "./helpers.js";

/**
 * The meta commands of memcached 1.6 (mg, ms, md, ma, me, mn) through parser, commands
 * and serializer on the fake service. Versions are log indexes: the first write of a
 * fresh service is version 1, the next 2, and so on.
 */

type Step = readonly [input: string, output: string];

const SCENARIOS: readonly (readonly [name: string, steps: readonly Step[]])[] = [
  ["mg misses: EN, quiet hides it, mn answers MN", [["mg k v\r\nmg k v q\r\nmn\r\n", "EN\r\nMN\r\n"]]],
  ["ms with T and F; mg returns value, cas, flags, ttl, size, key and opaque in request order", [
    ["ms k 2 T60 F5 c\r\nhi\r\n", "HD c1\r\n"],
    ["mg k v c f t s k O123\r\nmg k\r\nmg k s q\r\n", "VA 2 c1 f5 t60 s2 kk O123\r\nhi\r\nHD\r\nHD s2\r\n"],
  ]],
  ["a key without expiry has t-1", [["ms k 1\r\na\r\nmg k t\r\n", "HD\r\nHD t-1\r\n"]]],
  ["h and l are accepted and left out: KVRaft keeps no access history", [["ms k 1\r\na\r\nmg k f v t l h u\r\n", "HD\r\nVA 1 f0 t-1\r\na\r\n"]]],
  ["ms C compares the version: HD, EX on another version, NF when missing", [
    ["ms k 2\r\nhi\r\n", "HD\r\n"],
    ["ms k 2 C1\r\nho\r\nms k 2 C1 O1\r\nxx\r\nms k 1 C0\r\nx\r\nms nope 2 C5\r\nho\r\nms nope 1 C0\r\nx\r\n", "HD\r\nEX O1\r\nEX\r\nNF\r\nNF\r\n"],
    ["mg k v c\r\n", "VA 2 c2\r\nho\r\n"],
  ]],
  ["ms modes: E add, R replace, A append, P prepend, S set; q hides HD only", [
    ["ms k 1 ME\r\na\r\nms k 1 ME\r\nb\r\nms k 1 MA\r\n!\r\nms k 1 MP\r\n<\r\n", "HD\r\nNS\r\nHD\r\nHD\r\n"],
    ["ms none 1 MR\r\nr\r\nms none 1 MA\r\nr\r\nms none 1 Mp\r\nr\r\n", "NS\r\nNS\r\nNS\r\n"],
    ["ms k 1 MS q\r\nz\r\nms k 1 ME q\r\nx\r\nmn\r\n", "NS\r\nMN\r\n"],
    ["mg k v\r\n", "VA 1\r\nz\r\n"],
  ]],
  ["an expired T deletes, as classic set does", [["ms k 1\r\na\r\nms k 1 T-1\r\nb\r\nmg k v\r\n", "HD\r\nHD\r\nEN\r\n"]]],
  ["mg T touches and returns the new ttl", [["ms k 1 T100\r\n1\r\nmg k t v T200\r\nmg k t\r\n", "HD\r\nVA 1 t200\r\n1\r\nHD t200\r\n"]]],
  ["md: HD, NF; q hides both; C compares", [
    ["ms k 1\r\na\r\nmd k C7\r\nmd k C0\r\nmd k C1 q\r\nmd k\r\nmd k q\r\nmn\r\n", "HD\r\nEX\r\nEX\r\nNF\r\nMN\r\n"],
    ["ms k 1\r\na\r\nmd k k O9\r\n", "HD\r\nHD kk O9\r\n"],
  ]],
  ["ma: incr by 1 or D, decr stops at 0, v answers the value, N creates with J", [
    ["ms c 1\r\n5\r\nma c\r\nma c v D10\r\nma c v MD D100 c\r\n", "HD\r\nHD\r\nVA 2\r\n16\r\nVA 1 c4\r\n0\r\n"],
    ["ma missing\r\nma missing q\r\nma n N0 J7 v\r\nma n v M+\r\nmn\r\n", "NF\r\nVA 1\r\n7\r\nVA 1\r\n8\r\nMN\r\n"],
    ["ms t 1\r\na\r\nma t\r\n", "HD\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"],
  ]],
  ["ma T sets the result's expiry", [["ms c 1\r\n1\r\nma c T90 v\r\nmg c t\r\n", "HD\r\nVA 1\r\n2\r\nHD t90\r\n"]]],
  ["b: base64 keys, returned base64 and marked b", [
    ["ms AAEC/w== 1 b\r\nz\r\nmg AAEC/w== b k v\r\nmg AAEC/w== k v\r\n", "HD\r\nVA 1 b kAAEC/w==\r\nz\r\nEN kAAEC/w==\r\n"],
  ]],
  ["me: a debug line with what KVRaft knows", [["ms c 1 F3\r\n1\r\nme c\r\nme nope\r\n", "HD\r\nME c exp=-1 cas=1 flags=3 size=1\r\nEN\r\n"]]],
  ["bad flags are CLIENT_ERROR and the connection goes on", [
    [
      "mg k zz\r\nmg k E5\r\nmg k N30\r\nms k 1 I\r\na\r\nmd k x\r\nma k C1\r\nms k 1 MX\r\na\r\nms k 1 C1 ME\r\na\r\nmg k T\r\nmg k Tx\r\nmg k v v\r\nmg k v1\r\nmg AAE b\r\nmn\r\n",
      "CLIENT_ERROR invalid flag \"zz\"\r\n" +
        "CLIENT_ERROR flag E is not supported on mg by KVRaft (see its memcached README)\r\n" +
        "CLIENT_ERROR flag N is not supported on mg by KVRaft (see its memcached README)\r\n" +
        "CLIENT_ERROR flag I is not supported on ms by KVRaft (see its memcached README)\r\n" +
        "CLIENT_ERROR flag x is not supported on md by KVRaft (see its memcached README)\r\n" +
        "CLIENT_ERROR flag C is not supported on ma by KVRaft (see its memcached README)\r\n" +
        "CLIENT_ERROR bad ms mode \"X\": want E (add), A (append), P (prepend), R (replace) or S (set)\r\n" +
        "CLIENT_ERROR C (compare cas) works only with ms mode S (set) in KVRaft: add has no atomic compare\r\n" +
        "CLIENT_ERROR flag T needs a token (as in T1)\r\n" +
        "CLIENT_ERROR bad T token \"x\": want a TTL in seconds (int32)\r\n" +
        "CLIENT_ERROR duplicate flag v\r\n" +
        "CLIENT_ERROR flag v takes no token, got \"v1\"\r\n" +
        "CLIENT_ERROR key is not valid base64 (flag b)\r\n" +
        "MN\r\n",
    ],
    ["mg\r\nms k\r\nms k x\r\nmn extra\r\nmg k q Oxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n", "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad data chunk\r\nCLIENT_ERROR bad data chunk\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR opaque token is 33 bytes, over memcached's limit of 32\r\n"],
    ["mg k v\r\n", "EN\r\n"],
  ]],
  ["noreply everywhere it is allowed, verbosity included", [
    ["verbosity noreply\r\nverbosity 1 noreply\r\ntouch k 1 noreply\r\ndecr k 1 noreply\r\nversion\r\n", "VERSION 0.1.0\r\n"],
  ]],
];

describe("meta commands on the KV service", () => {
  it.each(SCENARIOS)("%s", async (_name, steps) => {
    const context = testContext(new FakeKvService());
    for (const [input, output] of steps) expect(await converse(context, input), input).toBe(output);
    expect(context.internalErrors).toEqual([]);
  });
});

describe("meta parsing", () => {
  it("a refused ms skips its data block, so the data is never read as a command", () => {
    const events = parseAll("ms k 8 I\r\nmn\r\nmn\r\n\r\nmn\r\n");
    expect(events.map((event) => event.kind === "protocol-error" ? event.reply : event.kind)).toEqual([
      "CLIENT_ERROR flag I is not supported on ms by KVRaft (see its memcached README)",
      "meta-noop",
    ]);
  });

  it("an ms over valueBytesMax is SERVER_ERROR even with q, and skipped", () => {
    const events = parseAll(`ms k 100 q\r\n${"x".repeat(100)}\r\nmn\r\n`);
    expect(events.map((event) => event.kind === "protocol-error" ? `${event.reply} noreply=${event.noreply}` : event.kind)).toEqual([
      "SERVER_ERROR object too large for cache noreply=false",
      "meta-noop",
    ]);
  });

  it("ms reads exactly <datalen> bytes, which may hold \\r\\n", () => {
    const [event] = parseAll("ms k 4 T5 F1\r\na\r\nb\r\n");
    expect(event).toMatchObject({ kind: "meta", command: "ms", ttl: 5, clientFlags: 1, data: new Uint8Array([0x61, 0x0d, 0x0a, 0x62]) });
  });

  it("base64 round-trips every byte value", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(decodeBase64(new TextEncoder().encode(encodeBase64(all)))).toEqual(all);
    expect(decodeBase64(new TextEncoder().encode("AA="))).toBeUndefined();
  });

  it("meta replies serialize as protocol.txt writes them", () => {
    expect(latin1(serializeReply({ kind: "meta", code: "VA", flags: ["f1", "kk"], value: new Uint8Array([0x61]) }))).toBe("VA 1 f1 kk\r\na\r\n");
    expect(latin1(serializeReply({ kind: "meta", code: "HD", flags: [] }))).toBe("HD\r\n");
    // A key byte above 0x7f goes back as it came (latin1), not re-encoded as UTF-8.
    expect(latin1(serializeReply({ kind: "meta", code: "EN", flags: ["k\u00e9"] }))).toBe("EN k\u00e9\r\n");
  });
});
