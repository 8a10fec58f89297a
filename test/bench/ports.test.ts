import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freeLoopbackPorts } from "../../src/bench/cluster/ports.js";

describe("freeLoopbackPorts", () => {
  it("hands out distinct ports that can be bound, outside the kernel's ephemeral range (where outgoing connections could take them)", async () => {
    const ports = await freeLoopbackPorts(20);
    expect(new Set(ports).size).toBe(20);
    const low = Number((await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8")).trim().split(/\s+/)[0]);
    // This machine's range leaves room below it: every port comes from there.
    expect(low).toBeGreaterThan(10_000);
    for (const port of ports) expect(port).toBeLessThan(low);
    for (const port of ports) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve());
      });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
