import { invariant } from "../assert/invariant.js";

/**
 * Blocks of bytes carved from shared slabs, one size class per slab, so that a million
 * small records cost a few hundred large buffers instead of a million small ones (each
 * small buffer costs a typed-array object and a malloc'd backing store on top of its
 * bytes). A block is named by its address: slab id * SLAB_BYTES + offset, a safe integer.
 *
 * Freed blocks go on their class's free list and the next allocation of that class
 * takes the most recently freed one. Blocks of DEDICATED_BLOCK_BYTES_MIN and more get a
 * buffer of their own, returned to the garbage collector when freed: at that size the
 * buffer's own overhead is small, and a slab of them would waste whole blocks.
 *
 * The arena does not move blocks (it does not know who holds their addresses): its
 * owner compacts by copying every block it holds into a fresh arena when `freedBytes`
 * passes `compactionDue` (see RecordTable).
 */
const SLAB_BYTES = 1024 * 1024;
/**
 * A class's first slab; each next one doubles, up to SLAB_BYTES. A small store (a new
 * member, a test, each of the simulator's thousands of state machines) then reserves a
 * few KiB per class it uses instead of a MiB, and a large one reaches full slabs after
 * eight of them.
 */
const FIRST_SLAB_BYTES = 4 * 1024;
/**
 * Full slabs are carved from chunks of this many, never allocated one by one. A 1 MiB
 * buffer comes from the C heap (glibc's mmap threshold rises past it once a large buffer
 * has been freed), where it lands among the short-lived buffers of requests, frames and
 * socket reads; when those are freed the heap cannot shrink around the slabs, and a
 * member that had just written a million keys held hundreds of MiB more than after a
 * restart. 32 MiB is glibc's largest mmap threshold: a chunk is always its own mapping,
 * its pages resident only once carved and written.
 */
const SLABS_PER_CHUNK = 32;
/** Classes up to SMALL_CLASSES_BYTES_MAX are multiples of this, so a 274-byte record wastes at most 15. */
const SMALL_CLASS_STEP_BYTES = 16;
const SMALL_CLASSES_BYTES_MAX = 1024;
const SMALL_CLASSES = SMALL_CLASSES_BYTES_MAX / SMALL_CLASS_STEP_BYTES;
/** Above the small classes, 8 classes per doubling: at most an eighth of a block is waste. */
const CLASSES_PER_DOUBLING_LOG2 = 3;
export const DEDICATED_BLOCK_BYTES_MIN = 16 * 1024;
/**
 * Freed bytes tolerated beyond the bytes in use before compaction is due: compacting
 * copies every block in use, so it waits until at least as much was freed (amortised
 * O(1) per freed byte) and never runs for a small store's churn.
 */
export const COMPACTION_FREED_BYTES_MIN = 4 * 1024 * 1024;

/** The size class of a block of `bytes` (below DEDICATED_BLOCK_BYTES_MIN). */
export function sizeClassOf(bytes: number): number {
  if (bytes <= SMALL_CLASSES_BYTES_MAX) return Math.max(1, Math.ceil(bytes / SMALL_CLASS_STEP_BYTES)) - 1;
  // bytes lies in (2^k, 2^(k+1)]; the class is the step of 2^k / 8 it falls in.
  const k = 31 - Math.clz32(bytes - 1);
  const stepBytes = 2 ** (k - CLASSES_PER_DOUBLING_LOG2);
  const step = Math.ceil((bytes - 2 ** k) / stepBytes);
  return SMALL_CLASSES + ((k - 10) << CLASSES_PER_DOUBLING_LOG2) + step - 1;
}

/** The bytes a block of class `sizeClass` takes. */
export function sizeClassBytes(sizeClass: number): number {
  if (sizeClass < SMALL_CLASSES) return (sizeClass + 1) * SMALL_CLASS_STEP_BYTES;
  const above = sizeClass - SMALL_CLASSES;
  const k = 10 + (above >> CLASSES_PER_DOUBLING_LOG2);
  const step = (above & ((1 << CLASSES_PER_DOUBLING_LOG2) - 1)) + 1;
  return 2 ** k + step * 2 ** (k - CLASSES_PER_DOUBLING_LOG2);
}

const CLASSES = sizeClassOf(DEDICATED_BLOCK_BYTES_MIN - 1) + 1;

export class SlabArena {
  private readonly slabs: (Uint8Array | undefined)[] = [];
  private readonly freeSlabIds: number[] = [];
  /** Per class: the address of the next uncarved block, or -1 when its slab is used up. */
  private readonly carveAddress: number[] = new Array<number>(CLASSES).fill(-1);
  /** Per class: the end address of the slab being carved. */
  private readonly carveEndAddress: number[] = new Array<number>(CLASSES).fill(-1);
  /** Per class: slabs carved so far (the next one's size grows with it). */
  private readonly slabsCarved: number[] = new Array<number>(CLASSES).fill(0);
  /** Per class: addresses of freed blocks, most recent last. */
  private readonly freeBlocks: number[][] = Array.from({ length: CLASSES }, () => []);
  private reservedBytesValue = 0;
  private usedBytesValue = 0;
  private freedBytesValue = 0;
  /** The chunk full slabs are being carved from, and how many it gave so far. */
  private chunk: ArrayBuffer | undefined;
  private chunkSlabsCarved = 0;

  /** Bytes of all slabs and dedicated buffers. */
  get reservedBytes(): number {
    return this.reservedBytesValue;
  }

  /** Bytes of the blocks handed out and not freed (whole blocks, so at least what was asked). */
  get usedBytes(): number {
    return this.usedBytesValue;
  }

  /** Bytes of freed blocks waiting on free lists for reuse. */
  get freedBytes(): number {
    return this.freedBytesValue;
  }

  /** Whether freed blocks now outweigh the blocks in use enough to pay for a compaction. */
  get compactionDue(): boolean {
    return this.freedBytesValue > this.usedBytesValue + COMPACTION_FREED_BYTES_MIN;
  }

  /** A block of at least `bytes` bytes, contents unspecified; returns its address. */
  allocate(bytes: number): number {
    if (bytes >= DEDICATED_BLOCK_BYTES_MIN) return this.allocateDedicated(bytes);
    const sizeClass = sizeClassOf(bytes);
    const blockBytes = sizeClassBytes(sizeClass);
    this.usedBytesValue += blockBytes;
    const reused = (this.freeBlocks[sizeClass] as number[]).pop();
    if (reused !== undefined) {
      this.freedBytesValue -= blockBytes;
      return reused;
    }
    let address = this.carveAddress[sizeClass] as number;
    if (address < 0 || address + blockBytes > (this.carveEndAddress[sizeClass] as number)) {
      const carved = this.slabsCarved[sizeClass] as number;
      this.slabsCarved[sizeClass] = carved + 1;
      const slabBytes = Math.min(SLAB_BYTES, Math.max(blockBytes, FIRST_SLAB_BYTES * 2 ** Math.min(carved, 8)));
      address = this.newSlab(slabBytes, slabBytes === SLAB_BYTES);
      this.carveEndAddress[sizeClass] = address + slabBytes;
    }
    this.carveAddress[sizeClass] = address + blockBytes;
    return address;
  }

  /** Frees the block at `address`, allocated for `bytes` bytes. */
  free(address: number, bytes: number): void {
    if (bytes >= DEDICATED_BLOCK_BYTES_MIN) {
      const slabId = Math.floor(address / SLAB_BYTES);
      invariant(this.slabs[slabId]?.length === bytes, () => `a dedicated block of ${bytes} bytes is freed once (slab ${slabId})`);
      this.slabs[slabId] = undefined;
      this.freeSlabIds.push(slabId);
      this.reservedBytesValue -= bytes;
      this.usedBytesValue -= bytes;
      return;
    }
    const sizeClass = sizeClassOf(bytes);
    const blockBytes = sizeClassBytes(sizeClass);
    (this.freeBlocks[sizeClass] as number[]).push(address);
    this.usedBytesValue -= blockBytes;
    this.freedBytesValue += blockBytes;
  }

  /** The buffer holding the block at `address`; the block starts at `offsetOf(address)`. */
  slabOf(address: number): Uint8Array {
    return this.slabs[Math.floor(address / SLAB_BYTES)] as Uint8Array;
  }

  offsetOf(address: number): number {
    return address % SLAB_BYTES;
  }

  private allocateDedicated(bytes: number): number {
    this.usedBytesValue += bytes;
    return this.newSlab(bytes, false);
  }

  /** A slab of `bytes`; a class's full slabs come from a chunk (never freed one by one: dedicated blocks do not). */
  private newSlab(bytes: number, fromChunk: boolean): number {
    const slab = fromChunk ? this.fullSlab() : new Uint8Array(bytes);
    this.reservedBytesValue += bytes;
    const reusedId = this.freeSlabIds.pop();
    const slabId = reusedId ?? this.slabs.length;
    if (reusedId === undefined) this.slabs.push(slab);
    else this.slabs[slabId] = slab;
    return slabId * SLAB_BYTES;
  }

  /** The next full slab of the current chunk, a new chunk when it is used up. */
  private fullSlab(): Uint8Array {
    if (this.chunk === undefined || this.chunkSlabsCarved === SLABS_PER_CHUNK) {
      this.chunk = new ArrayBuffer(SLABS_PER_CHUNK * SLAB_BYTES);
      this.chunkSlabsCarved = 0;
    }
    return new Uint8Array(this.chunk, SLAB_BYTES * this.chunkSlabsCarved++, SLAB_BYTES);
  }
}
