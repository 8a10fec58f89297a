import type { MemberPorts, ProcessCluster } from "../support/process-cluster.js";

/** The members' client-protocol addresses. */
export function clientEndpoints(cluster: ProcessCluster, ids: readonly number[] = [...cluster.ports.keys()]): string[] {
  return ids.map((id) => `127.0.0.1:${(cluster.ports.get(id) as MemberPorts).client}`);
}
