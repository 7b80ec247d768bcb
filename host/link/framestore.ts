// Frame buffers in WebAssembly memory: the capture's one frame arena. Chunks are
// copied straight into a slot in core memory as they arrive and hashed there
// (CoreSha256.updateAt), so the whole-frame SHA-256 is ready the moment the last
// chunk lands; the seal then reads the pixels in the slot (watermark embedded in
// place, tile table, DICOM encode) until the object is durable and the slot is
// released. In capture the core is fixed at the board's memory budget (Core
// budgetBytes), so views of a slot are never detached by memory growth.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { Core } from '../core/wasm.js';
import { CoreSha256 } from '../core/hash.js';

export interface StreamHasher {
  updateAt(ptr: number, len: number): void;
  digest(): Uint8Array;
  reset(): void;
}

export interface FrameSlot {
  readonly id: number;
  /** Offset of the slot in core memory (16-byte aligned). */
  readonly ptr: number;
  readonly capacity: number;
  readonly hasher: StreamHasher;
  /** A fresh view (core memory may have grown since the last one). */
  view(offset: number, length: number): Uint8Array;
}

export interface FrameStore {
  readonly core: Core;
  readonly slotBytes: number;
  readonly slotCount: number;
  acquire(): FrameSlot | null;
  release(slot: FrameSlot): void;
  readonly free: number;
}

/** Fallback used only when build/core.wasm predates the SHA-256 primitive. */
class NobleOverCore implements StreamHasher {
  private h = nobleSha256.create();
  constructor(private readonly core: Core) {}
  updateAt(ptr: number, len: number): void {
    this.h.update(this.core.bytes(ptr, len));
  }
  digest(): Uint8Array {
    return this.h.digest();
  }
  reset(): void {
    this.h = nobleSha256.create();
  }
}

function makeHasher(core: Core): StreamHasher {
  if (typeof (core.exports as Record<string, unknown>).sha256Init === 'function') {
    // updateAt only: a tiny staging buffer is enough.
    const h = new CoreSha256(core, 64);
    return { updateAt: (p, l) => void h.updateAt(p, l), digest: () => h.digest(), reset: () => void h.reset() };
  }
  return new NobleOverCore(core);
}

/** A fixed pool of `slotCount` frame buffers carved from the core arena once, up front. */
export class CoreFrameStore implements FrameStore {
  private readonly slots: FrameSlot[] = [];
  private readonly idle: FrameSlot[] = [];

  constructor(readonly core: Core, readonly slotBytes: number, readonly slotCount: number) {
    if (slotCount < 1) throw new RangeError('frame store: need at least one slot');
    for (let i = 0; i < slotCount; i++) {
      const ptr = core.alloc(slotBytes, 16);
      const slot: FrameSlot = {
        id: i,
        ptr,
        capacity: slotBytes,
        hasher: makeHasher(core),
        view: (o, l) => {
          if (o < 0 || o + l > slotBytes) throw new RangeError('frame slot: view out of range');
          return core.bytes(ptr + o, l);
        },
      };
      this.slots.push(slot);
      this.idle.push(slot);
    }
  }

  /** Slots that fit in a memory budget: (budget - reserve) / frame bytes, at least 1. */
  static slotsFor(budgetBytes: number, frameBytes: number, reserveBytes: number): number {
    return Math.max(1, Math.floor((budgetBytes - reserveBytes) / frameBytes));
  }

  get free(): number {
    return this.idle.length;
  }

  acquire(): FrameSlot | null {
    const s = this.idle.pop() ?? null;
    s?.hasher.reset();
    return s;
  }

  release(slot: FrameSlot): void {
    if (this.idle.includes(slot)) throw new Error('frame store: slot released twice');
    this.idle.push(slot);
  }
}
