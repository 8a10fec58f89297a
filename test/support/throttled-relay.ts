import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP relay on 127.0.0.1 that passes what the upstream sends at a paced rate (one read
 * per `pauseMs`), so that a test can act while a transfer is under way: it counts the
 * bytes passed downstream, and when the upstream goes away it resets the downstream
 * connection, as a dead server's would be.
 */
export class ThrottledRelay {
  bytesRelayed = 0;
  private readonly sockets = new Set<Socket>();

  private readonly server: Server;
  port = 0;

  private constructor(upstreamPort: number, pauseMs: number) {
    this.server = createServer((downstream) => {
      const upstream = createConnection({ host: "127.0.0.1", port: upstreamPort });
      this.track(downstream, upstream);
      downstream.on("data", (chunk) => upstream.write(chunk));
      upstream.on("data", (chunk: Buffer) => {
        this.bytesRelayed += chunk.length;
        downstream.write(chunk);
        upstream.pause();
        setTimeout(() => upstream.resume(), pauseMs);
      });
      upstream.on("end", () => downstream.end());
      upstream.on("error", () => downstream.resetAndDestroy());
      downstream.on("error", () => upstream.destroy());
      downstream.on("close", () => upstream.destroy());
    });
  }

  static async start(upstreamPort: number, pauseMs: number): Promise<ThrottledRelay> {
    const relay = new ThrottledRelay(upstreamPort, pauseMs);
    await new Promise<void>((resolve) => relay.server.listen(0, "127.0.0.1", resolve));
    const address = relay.server.address();
    if (address === null || typeof address === "string") throw new Error("the relay has no TCP port");
    relay.port = address.port;
    return relay;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(...sockets: Socket[]): void {
    for (const socket of sockets) {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    }
  }
}
