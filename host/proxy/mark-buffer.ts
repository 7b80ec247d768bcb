// Where the proxy's watermark path keeps a received object's pixels while it marks and seals them:
// a region of a WebAssembly core's memory, with room before and after for the sealed file's head
// and tail. Living in core memory, each frame is marked where it lies (the watermark finds the
// core that holds it: host/core/wasm.ts `coreHolding`) instead of being copied into the
// watermark's own core and back (two 19 MB copies of a 3072² frame); the core has a fixed budget,
// so it never grows and the views into it are never detached while the seal reads them. The core
// is kept for the next object: its pages stay mapped, where a fresh buffer per object would fault
// every page in again.
import { Core } from '../core/wasm.js';

/** Room before the pixels for the sealed file's meta and elements. */
export const ROOM_BEFORE = 65536;
/** At most this much room for the tile table (64-px tiles of a 19 MB frame need 74 KB): a table of tiny tiles would need more, and such a file is encoded afresh. */
const MAX_TILE_ROOM = 4 << 20;

/**
 * Room around `pixelBytes` of pixels for the sealed file to be encoded where they lie: its head
 * before them; after them the attestation with its tile table at `tileSize` (0: none) and the
 * signatures. What the SCP leaves around a received object, and what the watermark path's buffer has.
 */
export function sealRoom(pixelBytes: number, tileSize: number): { before: number; after: number } {
  const tileTable = tileSize > 0 ? 64 * Math.ceil(pixelBytes / (2 * tileSize * tileSize)) : 0;
  return { before: ROOM_BEFORE, after: 65536 + Math.min(tileTable, MAX_TILE_ROOM) };
}

/**
 * Core memory beside the pixels for the embed's per-chip arrays (20 bytes per 8×8 chip) and its
 * fragile layer, and for the tile table's gathering (host/core/tiles.ts: at most 256 KiB; the table
 * itself is made in JavaScript memory).
 */
function workingBytes(pixelBytes: number): number {
  return Math.ceil(20 * (pixelBytes / 2 / 64)) + (2 << 20);
}

export interface MarkBuffer {
  /** The received pixels' copy, to be marked in place. */
  pixels: Uint8Array;
  /** The byte range of `pixels.buffer` the sealed file may occupy (the room around the pixels, nothing of the core's own). */
  room: { start: number; end: number };
  /** The seal is done with the bytes (written, or given up): the core may serve the next object. Idempotent. */
  release(): void;
}

let kept: Core | undefined;
let keptBusy = false;

/**
 * A copy of `received` in core memory with room around it (`after`: bytes for the tail: the
 * attestation's tile table and the signatures). The kept core when it is free and large enough,
 * else a new one (kept in its place when larger).
 */
export function markBuffer(received: Uint8Array, after: number): MarkBuffer {
  const regionBytes = ROOM_BEFORE + received.length + after;
  const need = regionBytes + workingBytes(received.length);
  let core: Core;
  let pooled = false;
  if (kept && !keptBusy && kept.budgetBytes! - kept.mark() >= need + 16) {
    core = kept;
    pooled = true;
  } else {
    core = new Core({ budgetBytes: need + (1 << 20) });
    if (!keptBusy) {
      kept = core;
      pooled = true;
    }
  }
  if (pooled) keptBusy = true;
  const mark = core.mark();
  const start = core.alloc(regionBytes, 16);
  const pixels = core.bytes(start + ROOM_BEFORE, received.length);
  pixels.set(received);
  let released = false;
  return {
    pixels,
    room: { start, end: start + regionBytes },
    release() {
      if (released) return;
      released = true;
      core.release(mark);
      if (pooled && core === kept) keptBusy = false;
    },
  };
}
