// Typed wrapper over the core's uint16 min/max (assembly/range.ts): the used range of a frame,
// for the default VOI window and the bits-stored check. A frame in core memory (a capture slot,
// a raw file read into the core) is scanned where it lies; one held by JavaScript is copied in
// a piece at a time.
import { Core, coreHolding, type CoreExports } from './wasm.js';

type RangeExports = CoreExports & { u16MinMax(pixels: number, count: number): number };

export interface PixelRange {
  /** Smallest value; 0xffff for no pixels. */
  min: number;
  /** Largest value; 0 for no pixels (so max < min). */
  max: number;
}

/** Pixels per piece when the frame is copied in: 1 MiB, so the copy stays in cache for the scan. */
const PIECE_PIXELS = 1 << 19;

let shared: Core | undefined;

function unpack(packed: number): PixelRange {
  return { min: packed & 0xffff, max: packed >>> 16 };
}

/** The smallest and largest value of `pixels`, computed in the WebAssembly core. */
export function pixelRange(pixels: Uint16Array): PixelRange {
  const held = coreHolding(pixels);
  if (held) return unpack((held.core.exports as RangeExports).u16MinMax(held.ptr, pixels.length));
  const core = (shared ??= new Core());
  const x = core.exports as RangeExports;
  const mark = core.mark();
  try {
    const piece = core.alloc(Math.min(pixels.length, PIECE_PIXELS) * 2);
    let min = 0xffff;
    let max = 0;
    for (let at = 0; at < pixels.length; at += PIECE_PIXELS) {
      const part = pixels.subarray(at, Math.min(at + PIECE_PIXELS, pixels.length));
      new Uint16Array(core.memory.buffer, piece, part.length).set(part);
      const r = unpack(x.u16MinMax(piece, part.length));
      if (r.min < min) min = r.min;
      if (r.max > max) max = r.max;
    }
    return { min, max };
  } finally {
    core.release(mark);
  }
}
