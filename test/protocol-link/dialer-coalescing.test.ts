import { createServer, type AddressInfo, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { tcpDialerCoalescing, type WriteCoalescing } from "../../src/protocol-link/dialer.js";
import { waitUntil } from "../client/raw-client.js";
import { countWritesTo, nextTurn } from "../support/socket-writes.js";

/**
 * Issue 17: a follower forwards its clients' requests to the leader over one connection.
 * With "loop-iteration", what it writes in the several turns of one pass of the event loop
 * (one per client connection that had bytes) leaves in one write; with "turn", the
 * client library's default, each turn's frames leave at its end.
 */
async function writesFor(coalescing: WriteCoalescing): Promise<{ writes: number; received: string }> {
  const chunks: Buffer[] = [];
  const server: Server = createServer((socket) => socket.on("data", (chunk: Buffer) => chunks.push(chunk)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const link = await tcpDialerCoalescing(coalescing)({ host: "127.0.0.1", port }, 5000, { data: () => undefined, closed: () => undefined });
    try {
      return await countWritesTo(port, async (writes) => {
        link.write(Buffer.from("first,"));
        await nextTurn();
        link.write(Buffer.from("second,"));
        await nextTurn();
        link.write(Buffer.from("third"));
        const received = (): string => Buffer.concat(chunks).toString();
        await waitUntil("the server to receive all three frames", () => received() === "first,second,third");
        return { writes: writes(), received: received() };
      });
    } finally {
      link.close();
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe("the dialer's write coalescing", () => {
  it("loop-iteration: frames written in three turns of one pass leave in one write, in order", async () => {
    expect(await writesFor("loop-iteration")).toEqual({ writes: 1, received: "first,second,third" });
  });

  it("turn: the same frames leave in one write per turn (so the count above can tell them apart)", async () => {
    expect(await writesFor("turn")).toEqual({ writes: 3, received: "first,second,third" });
  });
});
