import { createConnection, createServer, type Socket } from "node:net";
import { median } from "./measure.js";

const PINGS = 500;

/**
 * The median round trip of a one-byte message over a loopback TCP connection, between
 * two sockets of this process: the floor under any request's latency here.
 */
export async function loopbackRoundTripMs(): Promise<number> {
  const server = createServer((socket) => socket.on("data", (data) => socket.write(data)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  const socket: Socket = createConnection({ port, host: "127.0.0.1", noDelay: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    const samples: number[] = [];
    const byte = Buffer.from([1]);
    for (let i = 0; i < PINGS; i++) {
      const started = performance.now();
      await new Promise<void>((resolve) => {
        socket.once("data", () => resolve());
        socket.write(byte);
      });
      samples.push(performance.now() - started);
    }
    return median(samples);
  } finally {
    socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
