import { describe, expect, it } from "vitest";
import { serializeReply, type Reply } from "../../src/server/memcached/parser.js";
import { REPLIES, line } from "../../src/server/memcached/replies.js";
import { latin1, utf8 } from "./helpers.js";

/** [reply, bytes on the wire]. */
const TABLE: [string, Reply, string][] = [
  ["STORED", REPLIES.stored, "STORED\r\n"],
  ["NOT_STORED", REPLIES.notStored, "NOT_STORED\r\n"],
  ["EXISTS", REPLIES.exists, "EXISTS\r\n"],
  ["NOT_FOUND", REPLIES.notFound, "NOT_FOUND\r\n"],
  ["DELETED", REPLIES.deleted, "DELETED\r\n"],
  ["TOUCHED", REPLIES.touched, "TOUCHED\r\n"],
  ["OK", REPLIES.ok, "OK\r\n"],
  ["a counter value", line("18446744073709551615"), "18446744073709551615\r\n"],
  ["VERSION", line("VERSION 0.1.0"), "VERSION 0.1.0\r\n"],
  ["an error text cannot split the reply", line("SERVER_ERROR bad\r\nSTORED"), "SERVER_ERROR bad  STORED\r\n"],
  ["a miss: END alone", { kind: "values", items: [] }, "END\r\n"],
  [
    "get: VALUE <key> <flags> <bytes>, the data, END",
    { kind: "values", items: [{ key: utf8("a"), flags: 2, value: utf8("{\"x\":1}") }, { key: utf8("b"), flags: 0, value: new Uint8Array(0) }] },
    "VALUE a 2 7\r\n{\"x\":1}\r\nVALUE b 0 0\r\n\r\nEND\r\n",
  ],
  [
    "gets: the cas unique last; data bytes go out untouched",
    { kind: "values", items: [{ key: utf8("k"), flags: 4294967295, value: Uint8Array.of(13, 10, 0, 255), casUnique: 42 }] },
    "VALUE k 4294967295 4 42\r\n\r\n\u0000\u00ff\r\nEND\r\n",
  ],
  ["STAT lines then END", { kind: "stats", stats: [["pid", 12], ["version", "0.1.0"]] }, "STAT pid 12\r\nSTAT version 0.1.0\r\nEND\r\n"],
  ["noreply: nothing", { kind: "none" }, ""],
];

describe("memcached reply serializer", () => {
  it.each(TABLE)("%s", (_name, reply, wire) => {
    expect(latin1(serializeReply(reply))).toBe(wire);
  });
});
