import { ClientPortServer } from "../../src/server/client-port/index.js";
import { FakeKvService } from "../support/fake-kv-service.js";

/**
 * Client ports of several "members" over one shared FakeKvService (the replicated state
 * every member would apply). `leaderId` says who leads: the others redirect to it, as
 * followers do. `crash(id)` drops a member's listener and connections at once, like a
 * SIGKILL; `moveLeader(id)` is the election that follows.
 */
export class FakeCluster {
  leaderId = 1;
  private readonly servers = new Map<number, ClientPortServer>();
  private readonly ports = new Map<number, number>();

  private constructor(readonly service: FakeKvService) {}

  static async start(size: number, service = new FakeKvService()): Promise<FakeCluster> {
    const cluster = new FakeCluster(service);
    try {
      for (let id = 1; id <= size; id++) {
        const server = new ClientPortServer(service, {
          port: 0,
          statusJson: () => ({ memberId: id, leaderId: cluster.leaderId, addresses: { client: cluster.address(id) }, members: [] }),
          leadership: () => ({ memberId: id, leaderId: cluster.leaderId, leaderClientAddress: cluster.address(cluster.leaderId) }),
        });
        cluster.servers.set(id, server);
        cluster.ports.set(id, (await server.start()).port);
      }
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  address(id: number): string {
    return `127.0.0.1:${this.ports.get(id) ?? 0}`;
  }

  endpoints(): string[] {
    return [...this.ports.keys()].map((id) => this.address(id));
  }

  server(id: number): ClientPortServer {
    return this.servers.get(id) as ClientPortServer;
  }

  /** Drops the member's connections now (its pending replies are lost) and stops listening. */
  crash(id: number): Promise<void> {
    return this.server(id).stop();
  }

  moveLeader(id: number): void {
    this.leaderId = id;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.servers.values()].map((server) => server.stop()));
  }
}
