export { parseAddress, type Address } from "../protocol-link/address.js";

/** The coordinator or an HTTP address as a base URL: a bare host:port gets http://. */
export function httpBase(address: string): string {
  const withScheme = /^https?:\/\//.test(address) ? address : `http://${address}`;
  return withScheme.replace(/\/+$/, "");
}
