import type { LeaderRef } from "../protocol/index.js";
import { ClientClosedError } from "./errors.js";
import type { CallConnection, ClientConnection, RoutedConnection } from "./connection.js";
import type { ClientEventListener } from "./events.js";

/** Where runCall gets its connection, and what it tells of one that failed it. */
export interface CallRouter {
  connection(deadlineAt: number, tried: Set<string>): Promise<CallConnection>;
  invalidate(connection: CallConnection, reason: string): void;
  redirect(connection: CallConnection, leader: LeaderRef): void;
}

/** How the router finds the leader (discovery.ts's LeaderFinder). */
export interface ConnectionFinder<C extends RoutedConnection> {
  find(deadlineAt: number, hint: string | undefined, tried: Set<string>): Promise<C>;
  learn(address: string): void;
}

/**
 * The client's one connection to the leader. Calls share it (pipelined); when it breaks,
 * times out or is redirected, it is dropped and the next call finds the leader again.
 * Concurrent calls that need a connection wait for one discovery, not one each.
 */
export class LeaderRouter<C extends RoutedConnection = ClientConnection> implements CallRouter {
  private current: C | undefined;
  private connecting: Promise<C> | undefined;
  private hint: string | undefined;
  private closed = false;

  constructor(
    private readonly finder: ConnectionFinder<C>,
    private readonly emit: ClientEventListener,
  ) {}

  /** The leader's connection, connecting first if need be; `tried` collects the addresses attempted. */
  async connection(deadlineAt: number, tried: Set<string>): Promise<C> {
    if (this.closed) throw new ClientClosedError("the client is closed");
    if (this.current !== undefined && !this.current.closed) return this.current;
    this.connecting ??= this.connect(deadlineAt, tried).finally(() => {
      this.connecting = undefined;
    });
    const connection = await this.connecting;
    tried.add(connection.address);
    return connection;
  }

  /** Drops `connection` (if still current): calls in flight on it fail and are retried elsewhere. */
  invalidate(connection: CallConnection, reason: string): void {
    if (this.current === connection) this.current = undefined;
    connection.close(reason);
  }

  /** A member said another leads: go there next. */
  redirect(connection: CallConnection, leader: LeaderRef): void {
    this.emit({ type: "redirected", from: connection.address, leaderId: leader.leaderId, to: leader.clientAddress });
    if (leader.clientAddress !== undefined) {
      this.hint = leader.clientAddress;
      this.finder.learn(leader.clientAddress);
    }
    this.invalidate(connection, `redirected to member ${leader.leaderId}`);
  }

  close(): void {
    this.closed = true;
    this.current?.close("client closed");
    this.current = undefined;
  }

  private async connect(deadlineAt: number, tried: Set<string>): Promise<C> {
    const hint = this.hint;
    this.hint = undefined;
    let connection: C;
    try {
      connection = await this.finder.find(deadlineAt, hint, tried);
    } catch (error) {
      this.emit({ type: "discovery-failed", tried: [...tried], reason: (error as Error).message });
      throw error;
    }
    if (this.closed) {
      connection.close("client closed");
      throw new ClientClosedError("the client is closed");
    }
    this.current = connection;
    this.emit({ type: "connected", address: connection.address, memberId: connection.hello.memberId, leaderId: connection.hello.leader.leaderId });
    connection.onClose((error) => {
      if (this.current === connection) this.current = undefined;
      this.emit({ type: "disconnected", address: connection.address, reason: error.message });
    });
    return connection;
  }
}
