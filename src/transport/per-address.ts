import type { Server as NetServer, Socket } from "node:net";
import { Server as TlsServer } from "node:tls";

/**
 * Open connections per remote address, shared by every client port (binary, memcached,
 * HTTP): without it one client holding `connectionsMax` idle sockets locks everybody
 * else out of the port. One counter per port; an address is forgotten when its last
 * connection closes, so the table holds at most as many entries as open connections.
 */
export const CONNECTIONS_PER_ADDRESS_MAX_DEFAULT = 256;
export const CONNECTIONS_PER_ADDRESS_MAX_BOUNDS: readonly [number, number] = [1, 1_000_000];

export class ConnectionsPerAddress {
  private readonly open = new Map<string, number>();

  constructor(readonly connectionsPerAddressMax: number) {}

  /** Counts a connection from `address`; false, and nothing counted, when that address is at the limit. */
  tryOpen(address: string | undefined): boolean {
    const key = addressKey(address);
    const count = this.open.get(key) ?? 0;
    if (count >= this.connectionsPerAddressMax) return false;
    this.open.set(key, count + 1);
    return true;
  }

  /** Releases one connection counted by tryOpen. */
  close(address: string | undefined): void {
    const key = addressKey(address);
    const count = this.open.get(key) ?? 0;
    if (count <= 1) this.open.delete(key);
    else this.open.set(key, count - 1);
  }

  openFrom(address: string | undefined): number {
    return this.open.get(addressKey(address)) ?? 0;
  }

  /** Addresses with at least one open connection. */
  get addresses(): number {
    return this.open.size;
  }
}

/**
 * Holds a node:http(s) server's sockets to `counter`: a connection past the limit is
 * answered `refusal` (plain HTTP only: on a TLS server the bytes would not be TLS) and
 * closed before any request is read from it.
 */
export function limitConnectionsPerAddress(
  server: NetServer,
  counter: ConnectionsPerAddress,
  refusal: string,
  onRefused: (remoteAddress: string | undefined, openFromAddress: number) => void,
): void {
  server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress;
    if (!counter.tryOpen(address)) {
      onRefused(address, counter.openFrom(address));
      socket.on("error", () => undefined);
      if (server instanceof TlsServer) socket.destroy();
      else socket.end(refusal, () => socket.destroy());
      return;
    }
    socket.once("close", () => counter.close(address));
  });
}

/** An IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d: the same address as a.b.c.d. */
function addressKey(address: string | undefined): string {
  if (address === undefined) return "unknown";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
