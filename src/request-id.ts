/** Bytes of randomness in a request id made here: 64 bits, 16 hex characters, unique enough among a cluster's requests in flight and in its logs. */
const REQUEST_ID_RANDOM_BYTES = 8;

/**
 * A new request id, for a client call or a request that came without one. Web Crypto's
 * random (global in Node 20), so the client library needs no `node:` import for it.
 */
export function newRequestId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(REQUEST_ID_RANDOM_BYTES));
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}
