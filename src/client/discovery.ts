import { ClientConnection, type RoutedConnection } from "./connection.js";
import { KvClientError, UnavailableError } from "./errors.js";
import { httpCall, httpTarget } from "../security/https-call.js";
import type { ResolvedClientOptions } from "./options.js";
import type { ConnectionFinder } from "./router.js";
import { SYSTEM_RUNTIME, type ClientRuntime } from "./runtime.js";
import type { ClientTlsOptions } from "../security/client-credentials.js";

/** What the coordinator says (GET /v1/cluster); every field optional, since it is another program. */
export interface CoordinatorView {
  readonly leaderClientAddress?: string;
  readonly leaderHttpAddress?: string;
  readonly memberClientAddresses: readonly string[];
}

/** Addresses learned from coordinators and redirects beyond the configured endpoints. */
const LEARNED_ENDPOINTS_MAX = 64;

/** What the finder reads of the client's options. */
export type FinderOptions = Pick<ResolvedClientOptions, "endpoints" | "coordinator" | "connectTimeoutMs" | "forward" | "tls" | "token">;

/** Opens a connection to `address` and exchanges HELLO (ClientConnection.open over a socket). */
export type ConnectionOpener<C extends RoutedConnection> = (address: string, connectTimeoutMs: number) => Promise<C>;

/** The finder a program uses: sockets (TCP or TLS) and the process's clock. */
export function socketFinder(options: ResolvedClientOptions): LeaderFinder<ClientConnection> {
  return new LeaderFinder(options, (address, connectTimeoutMs) => ClientConnection.open(address, { ...options, connectTimeoutMs }), SYSTEM_RUNTIME);
}

/**
 * Finds the leader: asks the coordinator who leads (when there is one), then tries
 * that member, a redirect's hint, and every known endpoint in turn. A member that is
 * not the leader says in HELLO who is, so the search usually takes one hop. Safety never
 * depends on the coordinator: without it, or when it is wrong, the endpoints decide.
 */
export class LeaderFinder<C extends RoutedConnection> implements ConnectionFinder<C> {
  private readonly learned: string[] = [];

  constructor(
    private readonly options: FinderOptions,
    private readonly open: ConnectionOpener<C>,
    private readonly runtime: ClientRuntime,
  ) {}

  /** Remembers a member's address (from a redirect or the coordinator) for later rounds. */
  learn(address: string): void {
    if (this.options.endpoints.includes(address) || this.learned.includes(address)) return;
    this.learned.push(address);
    if (this.learned.length > LEARNED_ENDPOINTS_MAX) this.learned.shift();
  }

  /**
   * A connection to the leader (or, with `forward`, to any member), by `deadlineAt`
   * (epoch ms). Every address tried is added to `tried`. Throws UnavailableError naming
   * each member tried and why it was not used.
   */
  async find(deadlineAt: number, hint: string | undefined, tried: Set<string>): Promise<C> {
    const failures: string[] = [];
    const queue: string[] = hint === undefined ? [] : [hint];
    if (this.options.coordinator !== undefined) {
      try {
        const view = await askCoordinator(this.options.coordinator, Math.min(this.options.connectTimeoutMs, Math.max(1, deadlineAt - this.runtime.now())), this.options);
        for (const address of view.memberClientAddresses) this.learn(address);
        if (view.leaderClientAddress !== undefined) queue.push(view.leaderClientAddress);
      } catch (error) {
        failures.push(`coordinator ${this.options.coordinator} (${(error as Error).message})`);
      }
    }
    queue.push(...this.options.endpoints, ...this.learned);
    const seen = new Set<string>();
    for (let address = queue.shift(); address !== undefined; address = queue.shift()) {
      if (seen.has(address)) continue;
      seen.add(address);
      const remainingMs = deadlineAt - this.runtime.now();
      if (remainingMs <= 0) break;
      tried.add(address);
      let connection: C;
      try {
        connection = await this.open(address, Math.min(this.options.connectTimeoutMs, remainingMs));
      } catch (error) {
        // Refused credentials fail the same way on every member: no point trying the rest.
        if (error instanceof KvClientError && !error.retryable) throw error;
        failures.push(`${address} (${(error as Error).message})`);
        continue;
      }
      const { memberId, leader } = connection.hello;
      // memberId 0: the server cannot tell who leads (a test double); it will redirect if it must.
      if (memberId === 0 || leader.leaderId === memberId || this.options.forward) return connection;
      connection.close("not the leader");
      if (leader.leaderId !== 0 && leader.clientAddress !== undefined) {
        this.learn(leader.clientAddress);
        queue.unshift(leader.clientAddress);
        failures.push(`${address} (member ${memberId}: member ${leader.leaderId} at ${leader.clientAddress} leads)`);
      } else {
        failures.push(`${address} (member ${memberId}: ${leader.leaderId === 0 ? "no leader known" : `member ${leader.leaderId} leads, address unknown`})`);
      }
    }
    throw new UnavailableError(`no leader found: ${failures.length === 0 ? "no member to try" : failures.join("; ")}`);
  }
}

/**
 * GET {coordinator}/v1/cluster: `{ leader: { id, addresses: { client, http } } | null, members: [{ addresses }] }`.
 * An https:// coordinator is checked against `tls.ca`; the token goes only over https.
 */
export async function askCoordinator(coordinator: string, timeoutMs: number, auth: { readonly tls?: ClientTlsOptions | undefined; readonly token?: string | undefined } = {}): Promise<CoordinatorView> {
  const target = httpTarget(/^https?:\/\//i.test(coordinator) ? coordinator : `http://${coordinator}`, "/v1/cluster", auth.tls);
  const answer = await httpCall(target, { method: "GET", timeoutMs, tls: auth.tls, token: target.secure ? auth.token : undefined });
  if (answer.status !== 200) throw new Error(`GET /v1/cluster answered ${answer.status}`);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(answer.body)) as unknown;
  } catch {
    throw new Error("GET /v1/cluster answered with something that is not JSON: not a KVRaft coordinator?");
  }
  const leaderAddresses = addressesOf(field(body, "leader"));
  const members = field(body, "members");
  const memberClientAddresses = Array.isArray(members)
    ? members.map((member) => addressesOf(member).client).filter((address): address is string => address !== undefined)
    : [];
  return {
    ...(leaderAddresses.client === undefined ? {} : { leaderClientAddress: leaderAddresses.client }),
    ...(leaderAddresses.http === undefined ? {} : { leaderHttpAddress: leaderAddresses.http }),
    memberClientAddresses,
  };
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function addressesOf(member: unknown): { client?: string; http?: string } {
  const addresses = field(member, "addresses");
  const client = field(addresses, "client");
  const http = field(addresses, "http");
  return {
    ...(typeof client === "string" && client !== "" ? { client } : {}),
    ...(typeof http === "string" && http !== "" ? { http } : {}),
  };
}
