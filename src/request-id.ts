/** Bytes of randomness in a request id made here: 64 bits, 16 hex characters, unique enough among a cluster's requests in flight and in its logs. */
const REQUEST_ID_RANDOM_BYTES = 8;
/**
 * Ids drawn from one call to the random source. One call per id measured about 10 µs
 * an id (Node 20, a loaded 2-core machine), too much per request on a hot path; from a
 * 4 KiB pool it is well under 1 µs.
 */
const IDS_PER_REFILL = 512;
const HEX_OF_BYTE = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

let pool = new Uint8Array(0);
let next = 0;

/**
 * A new request id, for a client call or a request that came without one. Web Crypto's
 * random (global in Node 20), so the client library needs no `node:` import for it.
 */
export function newRequestId(): string {
  if (next + REQUEST_ID_RANDOM_BYTES > pool.length) {
    pool = globalThis.crypto.getRandomValues(new Uint8Array(REQUEST_ID_RANDOM_BYTES * IDS_PER_REFILL));
    next = 0;
  }
  let text = "";
  for (let i = 0; i < REQUEST_ID_RANDOM_BYTES; i++) text += HEX_OF_BYTE[pool[next + i] as number];
  next += REQUEST_ID_RANDOM_BYTES;
  return text;
}
