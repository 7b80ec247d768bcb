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

/**
 * One instance of the core with a bump arena over its linear memory.
 * The core allocates nothing itself: every context and buffer it works on is
 * carved out here, so its memory use is exactly what the host asks for.
 */
export class Core {
  readonly exports: CoreExports;
  private readonly base: number;
  private top: number;

  constructor() {
    // An empty import object: the core must have no imports at all.
    const instance = new WebAssembly.Instance(compiledCore(), {});
    this.exports = instance.exports as CoreExports;
    this.base = align(this.exports.heapBase(), 16);
    this.top = this.base;
  }

  get memory(): WebAssembly.Memory {
    return this.exports.memory;
  }

  /** Reserves `bytes` (aligned to `alignment`), growing memory as needed. Returns the offset. */
  alloc(bytes: number, alignment = 16): number {
    const start = align(this.top, alignment);
    const end = start + bytes;
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
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

  /** A view of core memory; re-create it after any alloc (growth detaches old views). */
  bytes(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, offset, length);
  }
}

function align(n: number, a: number): number {
  return (n + a - 1) & ~(a - 1);
}
