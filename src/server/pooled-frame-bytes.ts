import type { FrameAllocator } from "../protocol/index.js";

/**
 * Bytes for a frame written to a socket at once (a relayed write and its reply): small
 * ones carved from Node's shared Buffer pool, so a frame costs no memory allocation of
 * its own, no zeroing and no later free. The pool's memory is not cleared, which is safe
 * because frameAround writes every byte it takes.
 */
export const POOLED_FRAME_BYTES: FrameAllocator = (bytes) => Buffer.allocUnsafe(bytes);
