import type { Logger } from "pino";
import type { PortSecurity } from "../auth/port-security.js";
import type { ServerConfig } from "../config.js";
import type { KvService } from "../kv-service.js";
import { failureLogFields, requestLogFields } from "../request-scope.js";
import type { ServerStatus } from "../../protocol/status.js";
import type { LeadershipView } from "./config.js";
import { ClientPortServer } from "./server.js";
import type { Tracer } from "../../trace/index.js";
import type { RequestObserver } from "../request-observer.js";
import { clientPortLimitsOf, validateClientLimits } from "../client-limits.js";
import type { WriteRelay } from "../forwarding.js";

export interface ClientPortMember {
  /** The member's status: answered to STATUS, and where leadership and addresses come from. */
  status(): ServerStatus;
  /**
   * Who leads, asked on every request that needs the leader: a member gives a cheap
   * answer here (building the whole status per request cost the leader 13% of its CPU
   * under load); without it, the status is asked.
   */
  leadership?(): LeadershipView;
  /** The member's tracer (--trace-log): requests and replies become trace events. */
  readonly tracer?: Tracer;
  /** Told of each request answered (the member's request metrics). */
  readonly onRequest?: RequestObserver;
  /** The member's forwarder: writes its forwarding clients send go on to the leader as frames (ClientPortOptions.relay). */
  readonly relay?: WriteRelay;
}

export interface AttachedClientPort {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Starts the binary client port of a member (`--client-port`), the way server.ts starts
 * the memcached port. The member's own client address must be advertised (the
 * directory's `client` entry) so that other members can redirect clients here.
 */
export async function attachClientPort(service: KvService, config: ServerConfig, log: Logger, member: ClientPortMember, security: PortSecurity = {}): Promise<AttachedClientPort> {
  const server = new ClientPortServer(service, {
    host: config.listenHost,
    port: config.clientPort,
    requestTimeoutMs: config.requestTimeoutMs,
    ...clientPortLimitsOf(validateClientLimits(config.clientLimits)),
    statusJson: () => member.status(),
    leadership: () => member.leadership?.() ?? leadershipOf(member.status()),
    ...(member.tracer === undefined ? {} : { tracer: member.tracer }),
    ...(member.onRequest === undefined ? {} : { onRequest: member.onRequest }),
    ...(member.relay === undefined ? {} : { relay: member.relay }),
    ...(log.isLevelEnabled("debug") ? { onServed: ({ request, kind, result, clientName }) => log.debug({ ...requestLogFields(request), op: kind, result, client: clientName }, `binary: ${kind} ${result}`) } : {}),
  }, (event) => {
    if (event.type === "internal-error") log.error(failureLogFields(event.error, event.requestId), "client port: internal error");
    else log.warn({ event }, `client port: ${event.type}`);
  }, security);
  try {
    const { port } = await server.start();
    return { port, stop: () => server.stop() };
  } catch (error) {
    throw new RangeError(`the client port ${config.listenHost}:${config.clientPort} could not be bound (${(error as Error).message}): pick another with --client-port`);
  }
}

/** Leadership as the status sees it: the leader's client address comes from what it advertised. */
export function leadershipOf(status: ServerStatus): LeadershipView {
  const leaderId = status.leaderId;
  const leaderAddresses = leaderId === status.memberId ? status.addresses : status.members.find((m) => m.id === leaderId)?.addresses;
  const clientAddress = leaderAddresses?.client;
  return clientAddress === undefined ? { memberId: status.memberId, leaderId } : { memberId: status.memberId, leaderId, leaderClientAddress: clientAddress };
}
