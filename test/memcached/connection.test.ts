import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { executeRequest } from "../../src/server/memcached/commands.js";
import { DEFAULT_MEMCACHED_OPTIONS } from "../../src/server/memcached/config.js";
import { MemcachedConnection } from "../../src/server/memcached/connection.js";
import { FakeKvService } from "../support/fake-kv-service.js";
import { latin1, testContext } from "./helpers.js";

/** The socket calls a connection makes, in order; writes complete a turn later, as on a real socket. */
class RecordingSocket extends EventEmitter {
  readonly calls: string[] = [];
  destroyed = false;
  writableEnded = false;
  writableLength = 0;

  cork(): void {
    this.calls.push("cork");
  }

  uncork(): void {
    this.calls.push("uncork");
  }

  write(bytes: Uint8Array | string, written?: () => void): boolean {
    this.calls.push(`write ${typeof bytes === "string" ? bytes : latin1(bytes)}`);
    if (written !== undefined) setImmediate(written);
    return true;
  }

  pause(): void {}
  resume(): void {}

  end(done?: () => void): void {
    this.writableEnded = true;
    this.calls.push("end");
    if (done !== undefined) setImmediate(done);
  }

  destroy(): void {
    this.destroyed = true;
  }
}

async function turns(count: number): Promise<void> {
  for (let turn = 0; turn < count; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe("memcached connection: the socket side", () => {
  it("replies ready in one event-loop turn leave in one corked socket write, in request order", async () => {
    const socket = new RecordingSocket();
    const context = testContext(new FakeKvService());
    new MemcachedConnection(socket as unknown as Socket, DEFAULT_MEMCACHED_OPTIONS, {
      execute: (request) => executeRequest(context, request),
      onInternalError: (error) => context.onInternalError(error),
    });
    socket.emit("data", Buffer.from("version\r\nget a\r\nset a 0 0 1\r\n1\r\nget a\r\n", "latin1"));
    await turns(5);
    expect(socket.calls).toEqual([
      "cork",
      "write VERSION 0.1.0\r\n",
      "write END\r\n",
      "write STORED\r\n",
      "write VALUE a 0 1\r\n1\r\nEND\r\n",
      "uncork",
    ]);
    socket.emit("end");
    await turns(5);
    expect(socket.calls.slice(6)).toEqual(["end"]);
  });
});
