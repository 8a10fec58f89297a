import { describe, expect, it } from "vitest";
import { validateMemcachedOptions } from "../../src/server/memcached/config.js";
import { expiryFromExptime, type Expiry } from "../../src/server/memcached/expiry.js";

const NOW_MS = 1_700_000_000_500;
const NOW_SECONDS = Math.floor(NOW_MS / 1000);

/** [exptime seconds, what the store is asked for] with the server's clock at NOW_MS. */
const EXPTIMES: [string, number, Expiry][] = [
  ["0: never", 0, { kind: "never" }],
  ["negative: expired at once", -1, { kind: "expired" }],
  ["1 second", 1, { kind: "ttl", ttlMs: 1000 }],
  ["30 days exactly is still relative", 2_592_000, { kind: "ttl", ttlMs: 2_592_000_000 }],
  ["30 days + 1 s is an absolute time (long past): expired", 2_592_001, { kind: "expired" }],
  ["an absolute time 100 s ahead (rounded up to whole ms)", NOW_SECONDS + 100, { kind: "ttl", ttlMs: 99_500 }],
  ["an absolute time just reached: expired", NOW_SECONDS, { kind: "expired" }],
];

describe("memcached exptime", () => {
  it.each(EXPTIMES)("%s", (_name, exptime, expected) => {
    expect(expiryFromExptime(exptime, NOW_MS)).toEqual(expected);
  });
});

describe("memcached server options", () => {
  it("fills in defaults", () => {
    expect(validateMemcachedOptions({ port: 0 })).toMatchObject({ port: 0, connectionsMax: 1024, pendingRequestsMax: 128 });
  });

  it.each([
    [{ port: 70_000 }, "memcached options: port must be an integer in [0, 65535], got 70000"],
    [{ valueBytesMax: 0 }, "memcached options: valueBytesMax must be an integer in [1, 67108864] bytes, got 0"],
    [{ lineBytesMax: 100 }, "memcached options: lineBytesMax must be an integer in [512, 16777216] bytes, got 100"],
    [{ pendingRequestsMax: 1.5 }, "memcached options: pendingRequestsMax must be an integer in [1, 1000000], got 1.5"],
    [{ version: "1.0 beta" }, 'memcached options: version must be printable ASCII without spaces, got "1.0 beta"'],
    [{ colour: "blue" } as object, "memcached options: colour is not a memcached option"],
  ])("refuses %j naming the field", (options, message) => {
    expect(() => validateMemcachedOptions(options)).toThrow(message);
  });
});
