/**
 * The set of key ids in byte order, for `list` and snapshots. A list of sorted chunks:
 * inserting or removing moves at most one chunk's entries (a flat sorted array would
 * move half the keyspace), and ordered scans are a plain walk. Chunks split at
 * CHUNK_KEYS_MAX and disappear when empty, so each holds 1..CHUNK_KEYS_MAX keys.
 */
const CHUNK_KEYS_MAX = 1024;

export class SortedKeys {
  private chunks: string[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** A copy of the set as it is now (copies the ids' references, chunk by chunk). */
  copy(): SortedKeys {
    const copy = new SortedKeys();
    copy.chunks = this.chunks.map((chunk) => chunk.slice());
    copy.count = this.count;
    return copy;
  }

  /** Adds `id`; returns false when it was already present. */
  insert(id: string): boolean {
    if (this.chunks.length === 0) {
      this.chunks.push([id]);
      this.count = 1;
      return true;
    }
    const chunkIndex = Math.min(this.chunkFor(id), this.chunks.length - 1);
    const chunk = this.chunks[chunkIndex] as string[];
    const position = lowerBound(chunk, id);
    if (chunk[position] === id) return false;
    chunk.splice(position, 0, id);
    this.count++;
    if (chunk.length > CHUNK_KEYS_MAX) {
      this.chunks.splice(chunkIndex + 1, 0, chunk.splice(chunk.length >> 1));
    }
    return true;
  }

  /** Removes `id`; returns false when it was absent. */
  remove(id: string): boolean {
    const chunkIndex = this.chunkFor(id);
    const chunk = this.chunks[chunkIndex];
    if (chunk === undefined) return false;
    const position = lowerBound(chunk, id);
    if (chunk[position] !== id) return false;
    chunk.splice(position, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(chunkIndex, 1);
    return true;
  }

  clear(): void {
    this.chunks = [];
    this.count = 0;
  }

  /**
   * Ids from `start` upward (excluding `start` itself when `exclusive`). The set must
   * not change while the iterator is in use.
   */
  *from(start: string, exclusive: boolean): Generator<string> {
    for (let chunkIndex = this.chunkFor(start); chunkIndex < this.chunks.length; chunkIndex++) {
      const chunk = this.chunks[chunkIndex] as string[];
      let position = lowerBound(chunk, start);
      if (exclusive && chunk[position] === start) position++;
      for (; position < chunk.length; position++) yield chunk[position] as string;
      // Later chunks hold only larger ids: scan them from their start.
      start = "";
      exclusive = false;
    }
  }

  /** The first chunk whose last id is >= `id` (chunks.length when there is none). */
  private chunkFor(id: string): number {
    let low = 0;
    let high = this.chunks.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      const chunk = this.chunks[middle] as string[];
      if ((chunk[chunk.length - 1] as string) < id) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** The first position in `sorted` whose id is >= `id`. */
function lowerBound(sorted: readonly string[], id: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((sorted[middle] as string) < id) low = middle + 1;
    else high = middle;
  }
  return low;
}
