/**
 * The memo of configurations the search has already explored: (set of linearized
 * operations, state). Lowe (2017) shows that reaching the same set with the same state
 * twice leads to the same future, so the second visit can be cut. The set is a bitset
 * whose hash is kept incrementally (XOR of per-operation hashes), so a lookup costs a
 * hash-map probe plus word-by-word comparisons only within a bucket.
 */

/** A 32-bit avalanche mix (the murmur3 finalizer), so nearby ids get unrelated hashes. */
export function mix32(input: number): number {
  let h = input | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class OperationBitset {
  readonly words: Uint32Array;
  /** XOR of `mix32(id + 1)` over the required ids in the set: optional ids do not count (see ConfigurationCache). */
  hash = 0;
  private readonly hashOf: Uint32Array;

  constructor(required: readonly boolean[]) {
    this.words = new Uint32Array(Math.ceil(required.length / 32));
    this.hashOf = Uint32Array.from(required, (isRequired, id) => (isRequired ? mix32(id + 1) : 0));
  }

  /** Adds or removes `id` (the caller knows which); keeps `hash` in step. */
  toggle(id: number): void {
    this.words[id >>> 5]! ^= 1 << (id & 31);
    this.hash = (this.hash ^ this.hashOf[id]!) >>> 0;
  }

  has(id: number): boolean {
    return (this.words[id >>> 5]! & (1 << (id & 31))) !== 0;
  }
}

interface CacheEntry {
  readonly stateId: number;
  readonly words: Uint32Array;
}

/**
 * The explored configurations, with dominance rather than plain equality. Lowe's cache
 * cuts a configuration equal to one seen before. Optional ops (unknown outcomes that
 * may never have taken effect) allow more: a configuration with the same required ops
 * and state as one seen before, and a superset of its optional ops, has no future the
 * earlier one lacked. Whatever the later one can still do, the earlier one could do too,
 * since the unused optional ops can be left out, and which ops may go next depends only on
 * the required ops still unplaced. (The call-order rule for interchangeable ops, in
 * prepare.ts, does depend on the optional ops placed, but any such future can be
 * rearranged into one that follows the rule from the earlier configuration.) So it is
 * cut. Entries are keyed on (required ops,
 * state); a bucket keeps only entries that no other entry dominates.
 */
export class ConfigurationCache {
  private readonly buckets = new Map<number, CacheEntry[]>();
  private readonly requiredWords: Uint32Array;
  /** Entries stored; bounded by the search's step budget (at most one entry per step). */
  entryCount = 0;

  constructor(required: readonly boolean[]) {
    this.requiredWords = new Uint32Array(Math.ceil(required.length / 32));
    required.forEach((isRequired, id) => {
      if (isRequired) this.requiredWords[id >>> 5]! |= 1 << (id & 31);
    });
  }

  /** Whether `a` dominates `b`: the same required ops, and a subset of its optional ones. */
  private dominates(a: Uint32Array, b: Uint32Array): boolean {
    for (let i = 0; i < a.length; i++) {
      if ((a[i]! & ~b[i]!) !== 0 || (b[i]! & ~a[i]! & this.requiredWords[i]!) !== 0) return false;
    }
    return true;
  }

  /** Records (bits, stateId) and returns true, or returns false when a recorded configuration dominates it. */
  addIfNotDominated(bits: OperationBitset, stateId: number): boolean {
    const hash = (bits.hash ^ mix32(stateId ^ 0x5bd1e995)) >>> 0;
    const bucket = this.buckets.get(hash) ?? [];
    for (const entry of bucket) {
      if (entry.stateId === stateId && this.dominates(entry.words, bits.words)) return false;
    }
    const kept = bucket.filter((entry) => entry.stateId !== stateId || !this.dominates(bits.words, entry.words));
    kept.push({ stateId, words: bits.words.slice() });
    this.buckets.set(hash, kept);
    this.entryCount += kept.length - bucket.length;
    return true;
  }
}
