import { describe, expect, it } from "vitest";
import { FakeKvService } from "../support/fake-kv-service.js";
import { RawClient, latin1, withServer } from "./helpers.js";

/** Event-loop turns to wait for a condition before failing: a bound, not a sleep. */
const TURNS_MAX = 10_000;

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < TURNS_MAX; turn++) {
    if (condition()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`not reached within ${TURNS_MAX} event-loop turns: ${what}`);
}

/** Runs `body` with one raw connection to a fresh server, closing both however it ends. */
async function withConnection(
  service: FakeKvService,
  options: Parameters<typeof withServer>[1],
  body: (client: RawClient, port: number) => Promise<void>,
): Promise<void> {
  await withServer(service, options, async (port) => {
    const client = await RawClient.connect(port);
    try {
      await body(client, port);
    } finally {
      client.destroy();
    }
  });
}

describe("memcached server: pipelining", () => {
  it("answers pipelined requests in request order though the service answers out of order", async () => {
    const service = new FakeKvService();
    // Reads of "slow" take many event-loop turns; everything else answers at once.
    service.latencyTurns = (_call, keys) => (keys.some((key) => latin1(key) === "slow") ? 50 : 0);
    await withConnection(service, {}, async (client) => {
      client.send("set slow 0 0 1\r\ns\r\nset fast 0 0 1\r\nf\r\n");
      expect(await client.readLike("STORED\r\nSTORED\r\n")).toBe("STORED\r\nSTORED\r\n");
      const expected = "VALUE slow 0 1\r\ns\r\nEND\r\nVALUE fast 0 1\r\nf\r\nEND\r\nVERSION 0.1.0\r\nEND\r\n";
      client.send("get slow\r\nget fast\r\nversion\r\nget none\r\n");
      expect(await client.readLike(expected)).toBe(expected);
    });
  });

  it("a read sees the writes sent before it on the connection, however slow they are", async () => {
    const service = new FakeKvService();
    service.latencyTurns = (call) => (call === "write" ? 30 : 0);
    await withConnection(service, {}, async (client) => {
      client.send("set a 0 0 1\r\n1\r\nget a\r\nincr a 1\r\nget a\r\n");
      const expected = "STORED\r\nVALUE a 0 1\r\n1\r\nEND\r\n2\r\nVALUE a 0 1\r\n2\r\nEND\r\n";
      expect(await client.readLike(expected)).toBe(expected);
    });
  });

  it("consecutive reads run together; a write waits for them, and later reads wait for it", async () => {
    const service = new FakeKvService();
    service.latencyTurns = () => 5;
    const log: string[] = [];
    const getMany = service.getMany.bind(service);
    service.getMany = async (keys, options) => {
      log.push(`start get ${keys.map(latin1).join(",")}`);
      const result = await getMany(keys, options);
      log.push(`end get ${keys.map(latin1).join(",")}`);
      return result;
    };
    const write = service.write.bind(service);
    service.write = async (command, options) => {
      log.push("start write");
      const result = await write(command, options);
      log.push("end write");
      return result;
    };
    await withConnection(service, {}, async (client) => {
      client.send("get a\r\nget b\r\nset c 0 0 1\r\nc\r\nget c\r\n");
      const expected = "END\r\nEND\r\nSTORED\r\nVALUE c 0 1\r\nc\r\nEND\r\n";
      expect(await client.readLike(expected)).toBe(expected);
    });
    expect(log).toEqual(["start get a", "start get b", "end get a", "end get b", "start write", "end write", "start get c", "end get c"]);
  });

  it("noreply requests in a pipeline send nothing, and the others are answered in order", async () => {
    await withConnection(new FakeKvService(), {}, async (client) => {
      client.send("set a 0 0 1 noreply\r\nx\r\nincr a 1 noreply\r\nbogus\r\nget a\r\n");
      const expected = "ERROR\r\nVALUE a 0 1\r\nx\r\nEND\r\n";
      expect(await client.readLike(expected)).toBe(expected);
    });
  });

  it("stops reading at pendingRequestsMax until replies drain", async () => {
    const service = new FakeKvService();
    let open!: () => void;
    service.gate = new Promise((resolve) => (open = resolve));
    await withConnection(service, { pendingRequestsMax: 2 }, async (client) => {
      client.send("get k\r\n".repeat(10));
      await waitFor(() => service.calls.length === 2, "two reads in flight");
      // More turns: the other 8 requests are buffered, and none reaches the service.
      for (let turn = 0; turn < 100; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
      expect(service.calls.length).toBe(2);
      open();
      expect(await client.readLike("END\r\n".repeat(10))).toBe("END\r\n".repeat(10));
      expect(service.calls.length).toBe(10);
    });
  });
});

describe("memcached server: connections and limits", () => {
  it("quit closes after the replies to earlier requests; later requests are not run", async () => {
    await withConnection(new FakeKvService(), {}, async (client) => {
      client.send("version\r\nquit\r\nset k 0 0 1\r\nx\r\n");
      expect(await client.readToClose()).toBe("VERSION 0.1.0\r\n");
    });
  });

  it("a line over lineBytesMax is refused and the connection closed", async () => {
    await withConnection(new FakeKvService(), { lineBytesMax: 512 }, async (client) => {
      client.send(`get ${"k".repeat(600)}`);
      expect(await client.readToClose()).toBe("CLIENT_ERROR line too long: over 512 bytes (lineBytesMax)\r\n");
    });
  });

  it("a client that closes its sending side still gets its replies", async () => {
    await withConnection(new FakeKvService(), {}, async (client) => {
      client.send("set k 0 0 1\r\nv\r\nget k\r\n");
      client.endInput();
      expect(await client.readToClose()).toBe("STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n");
    });
  });

  it("a connection past connectionsMax is answered SERVER_ERROR and closed; the first keeps working", async () => {
    await withServer(new FakeKvService(), { connectionsMax: 1 }, async (port, server) => {
      const first = await RawClient.connect(port);
      const second = await RawClient.connect(port);
      try {
        first.send("version\r\n");
        expect(await first.readLike("VERSION 0.1.0\r\n")).toBe("VERSION 0.1.0\r\n");
        expect(await second.readToClose()).toBe("SERVER_ERROR too many open connections\r\n");
        expect(server.stats()).toMatchObject({ connectionsCurrent: 1, connectionsTotal: 1, connectionsRejected: 1 });
        first.send("version\r\n");
        expect(await first.readLike("VERSION 0.1.0\r\n")).toBe("VERSION 0.1.0\r\n");
      } finally {
        first.destroy();
        second.destroy();
      }
    });
  });

  it("a value over valueBytesMax is refused without reaching the service, and the connection goes on", async () => {
    const service = new FakeKvService();
    await withConnection(service, { valueBytesMax: 10 }, async (client) => {
      client.send(`set k 0 0 11\r\n${"x".repeat(11)}\r\nset k 0 0 10\r\n${"y".repeat(10)}\r\n`);
      const expected = "SERVER_ERROR object too large for cache\r\nSTORED\r\n";
      expect(await client.readLike(expected)).toBe(expected);
      expect(service.writes).toHaveLength(1);
    });
  });

  it("stop() closes connections whose requests are still in flight", async () => {
    const service = new FakeKvService();
    service.gate = new Promise(() => undefined);
    const client = await withServer(service, {}, async (port) => {
      const raw = await RawClient.connect(port);
      raw.send("get k\r\n");
      await waitFor(() => service.calls.length === 1, "the read in flight");
      return raw;
    });
    await client.closed;
  });

  it("flush_all with a delay is one replicated write, effective from the stamp it names", async () => {
    const service = new FakeKvService();
    await withServer(service, {}, async (port) => {
      const client = await RawClient.connect(port);
      try {
        client.send("set k 0 0 1\r\nv\r\nflush_all 1\r\nget k\r\n");
        const expected = "STORED\r\nOK\r\nVALUE k 0 1\r\nv\r\nEND\r\n";
        expect(await client.readLike(expected)).toBe(expected);
        expect(service.writes.at(-1)).toEqual({ type: "flush-all", ttlMs: 1_000 });
        service.clock.advance(1_000);
        client.send("get k\r\n");
        expect(await client.readLike("END\r\n")).toBe("END\r\n");
      } finally {
        client.destroy();
      }
    });
  });

  it("stats() counts what the connections did", async () => {
    const service = new FakeKvService();
    await withServer(service, {}, async (port, server) => {
      const client = await RawClient.connect(port);
      try {
        client.send("set k 0 0 1\r\nv\r\nget k nope\r\n");
        await client.readUntil((text) => text.endsWith("END\r\n"));
        const stats = server.stats();
        expect(stats.counters).toMatchObject({ cmd_set: 1, cmd_get: 2, get_hits: 1, get_misses: 1 });
        expect(stats.connectionsCurrent).toBe(1);
      } finally {
        client.destroy();
      }
    });
  });
});
