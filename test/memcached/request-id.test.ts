import { describe, expect, it } from "vitest";
import type { ReadOptions } from "../../src/server/kv-service.js";
import { MemcachedServer, type MemcachedServerEvent } from "../../src/server/memcached/index.js";
import { FakeKvService } from "../support/fake-kv-service.js";
import { RawClient } from "./helpers.js";

/** A service that remembers the request id each read ran under, as the forwarder would send it on. */
class RecordingService extends FakeKvService {
  readonly requestIds: (string | undefined)[] = [];
  override getMany(keys: readonly Uint8Array[], options?: ReadOptions): ReturnType<FakeKvService["getMany"]> {
    this.requestIds.push(options?.scope?.request?.requestId);
    return super.getMany(keys, options);
  }
}

describe("memcached: a request id per command (issue 18)", () => {
  it("runs each command under its own id, and a bug's SERVER_ERROR and log event name the same id", async () => {
    const service = new RecordingService();
    const events: MemcachedServerEvent[] = [];
    const server = new MemcachedServer(service, { host: "127.0.0.1", port: 0, version: "0.1.0" }, (event) => events.push(event));
    const { port } = await server.start();
    const client = await RawClient.connect(port);
    try {
      client.send("get a\r\nget b\r\n");
      await client.readUntil((text) => text.split("END\r\n").length === 3);
      expect(service.requestIds).toHaveLength(2);
      for (const id of service.requestIds) expect(id).toMatch(/^[0-9a-f]{16}$/);
      expect(service.requestIds[0]).not.toBe(service.requestIds[1]);

      service.failNext(new TypeError("a planted bug"));
      client.send("get c\r\n");
      const reply = await client.readUntil((text) => text.endsWith("\r\n"));
      const id = /\(request ([0-9a-f]{16})\)/.exec(reply)?.[1];
      expect(reply).toMatch(/^SERVER_ERROR internal error: see the server's log \(request [0-9a-f]{16}\)\r\n$/);
      expect(events).toEqual([expect.objectContaining({ type: "internal-error", requestId: id })]);
    } finally {
      client.endInput();
      await server.stop();
    }
  });
});
