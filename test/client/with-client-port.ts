import { readFileSync } from "node:fs";
import type { MemberPorts, ProcessCluster } from "../support/process-cluster.js";

/**
 * The process tests in cluster.test.ts run the client library against real `kvraft
 * server` processes, which need the binary client port. What the server must do
 * (src/server/server.ts, after the memcached port is started):
 *
 *   import { attachClientPort } from "./client-port/attach.js";
 *   const clientPort = await attachClientPort(service, config, log, { status: () => status() });
 *   directory.setSelf({ ..., client: `${host}:${clientPort.port}` });   // advertised: redirects name it
 *   // in shutdown(), before memcached.stop():
 *   await clientPort.stop();
 *
 * i.e. listen on --client-port (config.clientPort, on config.listenHost), answer STATUS
 * with the member's status, redirect to the leader's advertised `client` address, and
 * advertise its own. Until the built server does, the process tests are skipped.
 */
export const serverHasClientPort: boolean = (() => {
  try {
    return readFileSync(new URL("../../dist/server/server.js", import.meta.url), "utf8").includes("attachClientPort");
  } catch {
    return false;
  }
})();

/** The members' client-protocol addresses. */
export function clientEndpoints(cluster: ProcessCluster, ids: readonly number[] = [...cluster.ports.keys()]): string[] {
  return ids.map((id) => `127.0.0.1:${(cluster.ports.get(id) as MemberPorts).client}`);
}
