import { afterEach, describe, expect, it } from "vitest";
import { Cleanup, startNode, waitFor } from "./net-helpers.js";
import { heartbeat } from "./messages.js";

describe("advertised endpoints in the handshake", () => {
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  it("tells the receiving member where the caller's other endpoints are, read when it connects", async () => {
    const endpoints: Record<string, string> = {};
    const b = await startNode(cleanup, { selfId: 2 });
    const a = await startNode(cleanup, { selfId: 1, peers: [{ id: 2, host: "127.0.0.1", port: b.port }], advertise: () => endpoints });
    endpoints["http"] = "127.0.0.1:8081";
    a.transport.send(heartbeat(1, 2, 0));
    await waitFor("b sees a connect", () => b.eventsOf("connected").some((e) => e.direction === "inbound"));
    const connected = b.eventsOf("connected").find((e) => e.direction === "inbound");
    expect(connected?.advertise).toEqual({ http: "127.0.0.1:8081" });
  });
});
