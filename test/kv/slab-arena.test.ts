import { describe, expect, it } from "vitest";
import { SlabArena } from "../../src/kv/slab-arena.js";

const MIB = 1024 * 1024;

describe("SlabArena", () => {
  it("carves a class's full slabs from 32 MiB chunks (their own mappings, away from short-lived buffers), and its first slabs small", () => {
    const arena = new SlabArena();
    const blockBytes = 4096;
    const first = arena.allocate(blockBytes);
    // A small store reserves a few KiB, not a chunk.
    expect(arena.slabOf(first).byteLength).toBe(4 * 1024);
    expect(arena.slabOf(first).buffer.byteLength).toBe(4 * 1024);
    const addresses = [first];
    // Enough blocks for the slabs to reach their full size, then two dozen full slabs more.
    while (arena.reservedBytes < 40 * MIB) addresses.push(arena.allocate(blockBytes));
    const fullSlabs = [...new Set(addresses.map((address) => arena.slabOf(address)))].filter((slab) => slab.byteLength === MIB);
    expect(fullSlabs.length).toBeGreaterThan(30);
    const chunks = new Set(fullSlabs.map((slab) => slab.buffer));
    expect(chunks.size).toBe(Math.ceil(fullSlabs.length / 32));
    for (const chunk of chunks) expect(chunk.byteLength).toBe(32 * MIB);
    // Blocks stay apart: a write to one block shows nowhere else.
    const [a, b] = [addresses[addresses.length - 1] as number, addresses[addresses.length - 2] as number];
    arena.slabOf(a).fill(7, arena.offsetOf(a), arena.offsetOf(a) + blockBytes);
    expect(arena.slabOf(b)[arena.offsetOf(b)]).toBe(0);
  });

  it("gives a dedicated block of a full slab's size a buffer of its own, so that freeing it frees it", () => {
    const arena = new SlabArena();
    const block = arena.allocate(MIB);
    expect(arena.slabOf(block).buffer.byteLength).toBe(MIB);
    arena.free(block, MIB);
    expect(arena.reservedBytes).toBe(0);
  });
});
