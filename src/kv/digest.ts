/**
 * FNV-1a, 64-bit, over bytes: a fast, deterministic fingerprint for comparing replica
 * states (not a defence against anyone crafting collisions). JS bit operations are
 * 32-bit, so the 64-bit hash is kept as four 16-bit limbs, least significant first.
 */

/** The FNV-1a 64-bit offset basis 0xcbf29ce484222325, in 16-bit limbs. */
const OFFSET_BASIS = [0x2325, 0x8422, 0x9ce4, 0xcbf2] as const;
/** The FNV 64-bit prime is 2^40 + 0x1b3: multiply by the low part, add a 40-bit shift. */
const PRIME_LOW = 0x1b3;

export function fnv1a64(bytes: Uint8Array): string {
  let [h0, h1, h2, h3] = OFFSET_BASIS as readonly number[] as [number, number, number, number];
  for (const byte of bytes) {
    h0 ^= byte;
    const t0 = h0 * PRIME_LOW;
    const t1 = h1 * PRIME_LOW;
    // h << 40 puts limb 0 at bit 8 of limb 2 and limb 1 at bit 8 of limb 3.
    const t2 = h2 * PRIME_LOW + (h0 << 8);
    const t3 = h3 * PRIME_LOW + (h1 << 8);
    const c1 = t1 + (t0 >>> 16);
    const c2 = t2 + (c1 >>> 16);
    h0 = t0 & 0xffff;
    h1 = c1 & 0xffff;
    h2 = c2 & 0xffff;
    h3 = (t3 + (c2 >>> 16)) & 0xffff;
  }
  return [h3, h2, h1, h0].map((limb) => limb.toString(16).padStart(4, "0")).join("");
}
