/** A member's client-protocol address, `host:port` (IPv6 as `[::1]:7100`). */
export interface Address {
  readonly host: string;
  readonly port: number;
}

export function parseAddress(text: string): Address {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  const port = Number(match?.[2]);
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new RangeError(`"${text}" is not HOST:PORT (for example 127.0.0.1:7100 or [::1]:7100)`);
  }
  return { host: match[1] as string, port };
}
