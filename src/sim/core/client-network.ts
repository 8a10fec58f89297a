import type { ConnectionOpener } from "../../client/discovery.js";
import { UnavailableError } from "../../client/errors.js";
import type { ClientRuntime } from "../../client/runtime.js";
import type { Request, Response, WireRequestContext } from "../../protocol/index.js";
import type { NodeId } from "../../raft/types.js";
import type { ReplicaMember } from "./replica-member.js";
import { clientHost, memberHost, type SimShivizTrace } from "./shiviz-trace.js";
import { SimClientConnection } from "./sim-client-connection.js";

/** The client port every simulated member advertises, on a host named after it. */
const CLIENT_PORT = 7100;
const MEMBER_ADDRESS = /^member-(\d+):\d+$/;

/** The client address member `id` advertises (what HELLO_OK and REDIRECT name). */
export function clientAddressOf(id: NodeId): string {
  return `member-${id}:${CLIENT_PORT}`;
}

function memberIdOf(address: string): NodeId {
  const id = MEMBER_ADDRESS.exec(address)?.[1];
  return id === undefined ? 0 : Number(id);
}

export interface ClientNetworkContext {
  /** Runs `action` after `delayMs` of the run's time. */
  after(delayMs: number, action: () => void): void;
  /** Runs `action` on member `id`'s process now, or when it resumes from a pause. */
  onMember(id: NodeId, action: () => void): void;
  member(id: NodeId): ReplicaMember | undefined;
  /** One hop's delay between a client and a member. */
  hopDelayMs(): number;
  readonly shiviz: SimShivizTrace;
}

/**
 * The links between the simulated clients and the members' client ports. A connection
 * is made by HELLO (refused while the member's process is down or starting), carries
 * requests to the member after a hop's delay and replies back after another, and ends
 * when the member's process ends, as its kernel closes its sockets. Client traffic does
 * not cross the partitions of the Raft network: a client reaches every member it names.
 */
export class ClientNetwork {
  private readonly open = new Map<NodeId, Set<SimClientConnection>>();

  constructor(private readonly ctx: ClientNetworkContext) {}

  /** LeaderFinder's opener for one client: a connection to `address` once the member answered its HELLO. */
  opener(clientId: number, forward: boolean, runtime: ClientRuntime): ConnectionOpener<SimClientConnection> {
    return (address, connectTimeoutMs) => {
      const connection = new SimClientConnection(address, memberIdOf(address), clientId, forward, runtime, (c, request, context) => this.carry(c, request, context));
      return connection.request((requestId) => ({ kind: "hello", requestId, clientName: clientHost(clientId), forward }), connectTimeoutMs).then((reply) => {
        if (reply.kind !== "hello-ok") throw new Error(`HELLO was answered with ${reply.kind}`);
        connection.opened(reply);
        return connection;
      }).catch((error: unknown) => {
        connection.close("HELLO failed");
        throw new UnavailableError(`cannot connect to ${address}: ${(error as Error).message}`);
      });
    };
  }

  /** Member `id`'s process ended: its connections close, one hop later. */
  memberDown(id: NodeId): void {
    const connections = this.open.get(id);
    if (connections === undefined) return;
    this.open.delete(id);
    for (const connection of connections) this.ctx.after(this.ctx.hopDelayMs(), () => connection.lost(`${connection.address} closed the connection: member ${id}'s process ended`));
  }

  private carry(connection: SimClientConnection, request: Request, context: WireRequestContext | undefined): void {
    const { ctx } = this;
    const id = connection.target;
    const traced = ctx.shiviz.enabled;
    const requestId = context?.requestId;
    const stamp = traced ? ctx.shiviz.tracer(clientHost(connection.clientId)).send({ kind: request.kind, to: memberHost(id), requestId }) : undefined;
    ctx.after(ctx.hopDelayMs(), () => ctx.onMember(id, () => {
      const member = ctx.member(id);
      if (member === undefined || !this.admits(member, connection, request)) return;
      if (traced && ctx.shiviz.enabled) ctx.shiviz.tracer(memberHost(id)).receive({ kind: request.kind, from: clientHost(connection.clientId), stamp, requestId });
      const incarnation = member.incarnation;
      member.serveClient(request, connection.forward, context)?.then((response) => {
        if (member.incarnation === incarnation) this.reply(connection, id, response, requestId);
      }, () => undefined); // A check failed while answering: the member reported it and the run stops.
    }));
  }

  /**
   * Whether the member's process takes the request: HELLO opens the connection to the
   * running process (refused when none runs); anything else must reach the process that
   * served its HELLO, or the connection is reset.
   */
  private admits(member: ReplicaMember, connection: SimClientConnection, request: Request): boolean {
    const serving = member.servesClients;
    if (request.kind === "hello" && connection.incarnation === undefined && serving) {
      connection.incarnation = member.incarnation;
      let connections = this.open.get(connection.target);
      if (connections === undefined) this.open.set(connection.target, (connections = new Set()));
      connections.add(connection);
      const opened = connections;
      connection.onClose(() => opened.delete(connection));
      return true;
    }
    if (serving && connection.incarnation === member.incarnation) return true;
    const reason = connection.incarnation === undefined ? "connection refused" : `connection reset: member ${connection.target}'s process that answered HELLO ended`;
    this.ctx.after(this.ctx.hopDelayMs(), () => connection.lost(`${connection.address}: ${reason}`));
    return false;
  }

  private reply(connection: SimClientConnection, from: NodeId, response: Response, requestId: string | undefined): void {
    const { ctx } = this;
    const traced = ctx.shiviz.enabled;
    // As the client library traces a reply (call-trace.ts): kind "reply", the response's kind in the details.
    const stamp = traced ? ctx.shiviz.tracer(memberHost(from)).send({ kind: "reply", to: clientHost(connection.clientId), requestId, details: response.kind }) : undefined;
    ctx.after(ctx.hopDelayMs(), () => {
      if (traced && ctx.shiviz.enabled) ctx.shiviz.tracer(clientHost(connection.clientId)).receive({ kind: "reply", from: memberHost(from), stamp, requestId, details: response.kind });
      connection.deliver(response);
    });
  }
}
