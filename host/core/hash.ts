// Typed wrappers over the core's streaming SHA-256 / SHA-512 (assembly/sha256.ts,
// assembly/sha512.ts). A hasher owns a context, a digest slot and a staging
// buffer carved from the core's arena; bytes that live in JavaScript are copied
// through the staging buffer piece by piece, bytes already in core memory
// (frames streamed in by the link layer) are hashed in place with updateAt().
import { Core, coreHolding, type CoreExports } from './wasm.js';

/** The four exports every streaming hash in the core provides. */
interface HashExports {
  contextSize(): number;
  init(ctx: number): void;
  update(ctx: number, ptr: number, len: number): void;
  final(ctx: number, out: number): void;
}

type Sha256Exports = CoreExports & {
  sha256ContextSize(): number;
  sha256Init(ctx: number): void;
  sha256Update(ctx: number, ptr: number, len: number): void;
  sha256Final(ctx: number, out: number): void;
};

type Sha512Exports = CoreExports & {
  sha512ContextSize(): number;
  sha512Init(ctx: number): void;
  sha512Update(ctx: number, ptr: number, len: number): void;
  sha512Final(ctx: number, out: number): void;
};

const sha256Fns = (x: CoreExports): HashExports => {
  const e = x as Sha256Exports;
  return { contextSize: e.sha256ContextSize, init: e.sha256Init, update: e.sha256Update, final: e.sha256Final };
};
const sha512Fns = (x: CoreExports): HashExports => {
  const e = x as Sha512Exports;
  return { contextSize: e.sha512ContextSize, init: e.sha512Init, update: e.sha512Update, final: e.sha512Final };
};

/** Default staging buffer: large enough that per-call overhead vanishes, small beside a frame. */
export const DEFAULT_STAGING_BYTES = 256 * 1024;

/**
 * Longest run handed to the core in one call (a multiple of both block sizes).
 * V8 first runs wasm in its baseline compiler (Liftoff), which is ~15x slower
 * on these round loops, and swaps in optimized code only for later calls: one
 * 18.9 MB call on a fresh instance ran at 18 MB/s, 16 KiB calls at full speed.
 */
const PIECE_BYTES = 16 * 1024;

/** A streaming hash whose state lives in core memory. */
export abstract class CoreHash {
  readonly core: Core;
  /** Digest length in bytes. */
  readonly outputLen: number;
  /** Block length in bytes (whole blocks are hashed straight from core memory). */
  readonly blockLen: number;
  private readonly fns: HashExports;
  private readonly ctx: number;
  private readonly out: number;
  private readonly stage: number;
  private readonly stageLen: number;
  private finished = false;

  protected constructor(core: Core, fns: HashExports, outputLen: number, blockLen: number, stagingBytes: number) {
    if (!Number.isInteger(stagingBytes) || stagingBytes < 1) throw new RangeError('radseal hash: staging buffer must be at least 1 byte');
    this.core = core;
    this.fns = fns;
    this.outputLen = outputLen;
    this.blockLen = blockLen;
    this.ctx = core.alloc(fns.contextSize());
    this.out = core.alloc(outputLen);
    this.stage = core.alloc(stagingBytes);
    this.stageLen = stagingBytes;
    fns.init(this.ctx);
  }

  /** Absorbs bytes held by JavaScript (copied into core memory in staging-sized pieces). */
  update(data: Uint8Array): this {
    this.checkOpen();
    for (let off = 0; off < data.length; off += this.stageLen) {
      const piece = data.subarray(off, Math.min(off + this.stageLen, data.length));
      // A fresh view each time: memory growth elsewhere detaches old ones.
      this.core.bytes(this.stage, piece.length).set(piece);
      this.absorb(this.stage, piece.length);
    }
    return this;
  }

  /** Absorbs `len` bytes already in core memory at offset `ptr`, without copying. */
  updateAt(ptr: number, len: number): this {
    this.checkOpen();
    const size = this.core.memory.buffer.byteLength;
    if (!Number.isInteger(ptr) || !Number.isInteger(len) || ptr < 0 || len < 0 || ptr + len > size) {
      throw new RangeError(`radseal hash: range [${ptr}, ${ptr}+${len}) is outside core memory (${size} bytes)`);
    }
    this.absorb(ptr, len);
    return this;
  }

  /** Finishes the hash and returns the digest (a copy). Call reset() to hash again. */
  digest(): Uint8Array {
    this.checkOpen();
    this.fns.final(this.ctx, this.out);
    this.finished = true;
    return this.core.bytes(this.out, this.outputLen).slice();
  }

  /** Starts over with an empty message. */
  reset(): this {
    this.fns.init(this.ctx);
    this.finished = false;
    return this;
  }

  private absorb(ptr: number, len: number): void {
    for (let off = 0; off < len; off += PIECE_BYTES) this.fns.update(this.ctx, ptr + off, Math.min(PIECE_BYTES, len - off));
  }

  private checkOpen(): void {
    if (this.finished) throw new Error('radseal hash: digest() already called; reset() before reuse');
  }
}

export class CoreSha256 extends CoreHash {
  constructor(core: Core, stagingBytes = DEFAULT_STAGING_BYTES) {
    super(core, sha256Fns(core.exports), 32, 64, stagingBytes);
  }
}

export class CoreSha512 extends CoreHash {
  constructor(core: Core, stagingBytes = DEFAULT_STAGING_BYTES) {
    super(core, sha512Fns(core.exports), 64, 128, stagingBytes);
  }
}

// One-shots share one lazily created core and one hasher per algorithm.
let shared: { core: Core; sha256: CoreSha256; sha512: CoreSha512 } | undefined;

function sharedHashers(): { core: Core; sha256: CoreSha256; sha512: CoreSha512 } {
  if (!shared) {
    const core = new Core();
    shared = { core, sha256: new CoreSha256(core), sha512: new CoreSha512(core) };
  }
  return shared;
}

/**
 * The digest of bytes that already live in a core's memory (a capture frame slot), hashed where
 * they are: the context is carved from that core for the call and released after it.
 */
function digestInPlace(core: Core, fns: (x: CoreExports) => HashExports, outputLen: number, ptr: number, len: number): Uint8Array {
  const f = fns(core.exports);
  const mark = core.mark();
  try {
    const ctx = core.alloc(f.contextSize());
    const out = core.alloc(outputLen);
    f.init(ctx);
    for (let off = 0; off < len; off += PIECE_BYTES) f.update(ctx, ptr + off, Math.min(PIECE_BYTES, len - off));
    f.final(ctx, out);
    return core.bytes(out, outputLen).slice();
  } finally {
    core.release(mark);
  }
}

/** SHA-256 of `data` computed in the WebAssembly core (in place when `data` already lives in core memory). */
export function sha256(data: Uint8Array): Uint8Array {
  const held = coreHolding(data);
  if (held) return digestInPlace(held.core, sha256Fns, 32, held.ptr, data.length);
  return sharedHashers().sha256.reset().update(data).digest();
}

/** SHA-512 of `data` computed in the WebAssembly core (in place when `data` already lives in core memory). */
export function sha512(data: Uint8Array): Uint8Array {
  const held = coreHolding(data);
  if (held) return digestInPlace(held.core, sha512Fns, 64, held.ptr, data.length);
  return sharedHashers().sha512.reset().update(data).digest();
}
