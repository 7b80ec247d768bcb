// Loads the WebAssembly core and owns its linear memory. This is the only
// module that touches WebAssembly memory directly; everything else in host/
// goes through the typed wrappers beside it (hash.ts, ...).
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Raw exports of build/core.wasm. Each primitive's wrapper narrows what it needs. */
export type CoreExports = WebAssembly.Exports & {
  memory: WebAssembly.Memory;
  heapBase(): number;
};

/** Walks up from this file to the folder holding radseal's package.json (works from host/ and dist/host/). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'asconfig.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('radseal: cannot find the project folder (package.json) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export function coreWasmPath(): string {
  return join(projectRoot(), 'build', 'core.wasm');
}

let cachedModule: WebAssembly.Module | undefined;

function compiledCore(): WebAssembly.Module {
  if (!cachedModule) {
    const path = coreWasmPath();
    if (!existsSync(path)) throw new Error(`radseal: WebAssembly core not built (${path} missing); run \`npm run build\``);
    cachedModule = new WebAssembly.Module(readFileSync(path));
  }
  return cachedModule;
}

const PAGE = 65536;

export interface CoreOptions {
  /**
   * Fixed size of core memory in bytes: grown to this once, at construction, and never again
   * (an alloc beyond it throws). Views into a budgeted core are never detached by growth, so
   * frames can stay in core memory while several steps read them; and the budget bounds every
   * byte the core works in (frames, hashing, tiles, watermark), not just the frame buffers.
   */
  budgetBytes?: number;
}

/** Live cores, so a view can be traced back to the core whose memory holds it. */
const live = new Set<WeakRef<Core>>();
const forget = new FinalizationRegistry<WeakRef<Core>>((ref) => live.delete(ref));

/**
 * One instance of the core with a bump arena over its linear memory.
 * The core allocates nothing itself: every context and buffer it works on is
 * carved out here, so its memory use is exactly what the host asks for.
 */
export class Core {
  readonly exports: CoreExports;
  /** The memory budget in bytes, or undefined when memory grows on demand. */
  readonly budgetBytes: number | undefined;
  private readonly base: number;
  private top: number;

  constructor(options: CoreOptions = {}) {
    // An empty import object: the core must have no imports at all.
    const instance = new WebAssembly.Instance(compiledCore(), {});
    this.exports = instance.exports as CoreExports;
    this.base = align(this.exports.heapBase(), 16);
    this.top = this.base;
    const budget = options.budgetBytes;
    if (budget !== undefined) {
      if (!Number.isInteger(budget) || budget < this.base) throw new RangeError(`radseal core: memory budget ${budget} bytes is below the core's own ${this.base}`);
      const have = this.memory.buffer.byteLength;
      if (budget > have) this.memory.grow(Math.floor((budget - have) / PAGE));
      this.budgetBytes = this.memory.buffer.byteLength;
    }
    const ref = new WeakRef(this);
    live.add(ref);
    forget.register(this, ref);
  }

  get memory(): WebAssembly.Memory {
    return this.exports.memory;
  }

  /** Reserves `bytes` (aligned to `alignment`), growing memory as needed. Returns the offset. */
  alloc(bytes: number, alignment = 16): number {
    const start = align(this.top, alignment);
    const end = start + bytes;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      if (this.budgetBytes !== undefined) {
        throw new RangeError(`radseal core: memory budget of ${this.budgetBytes} bytes exceeded (${end} would be needed: frame buffers and working space must fit; the board's memory.budgetBytes sets it)`);
      }
      this.memory.grow(Math.ceil((end - have) / PAGE));
    }
    this.top = end;
    return start;
  }

  /** Frees everything allocated after `mark` (a value returned by `mark()`). */
  release(mark: number): void {
    if (mark < this.base || mark > this.top) throw new RangeError('radseal core: bad arena mark');
    this.top = mark;
  }

  mark(): number {
    return this.top;
  }

  /** Bytes allocated from the arena so far. */
  get used(): number {
    return this.top - this.base;
  }

  /** A view of core memory; re-create it after any alloc (growth detaches old views). */
  bytes(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, offset, length);
  }

  /** The offset of `view` in this core's memory, or undefined when it lives elsewhere. */
  offsetOf(view: ArrayBufferView): number | undefined {
    return view.buffer === this.memory.buffer ? view.byteOffset : undefined;
  }
}

/**
 * The core whose memory holds `view`, and where: lets a wrapper given bytes that already live in
 * core memory (a capture frame slot) work on them in place instead of copying them in.
 */
export function coreHolding(view: ArrayBufferView): { core: Core; ptr: number } | undefined {
  if (view.buffer instanceof SharedArrayBuffer || view.byteLength === 0) return undefined;
  for (const ref of live) {
    const core = ref.deref();
    if (!core) {
      live.delete(ref);
      continue;
    }
    const ptr = core.offsetOf(view);
    if (ptr !== undefined) return { core, ptr };
  }
  return undefined;
}

function align(n: number, a: number): number {
  return (n + a - 1) & ~(a - 1);
}
