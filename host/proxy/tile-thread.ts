// The received object's tile table, made in a worker thread while the SCP keeps
// receiving on the main thread: on two cores the WebAssembly tile hashing (the
// largest cost of a native 16-bit object) no longer slows the receive down, and
// when the last fragment is in only its last band is left to hash.
//
// One thread for the process, started on first use, jobs answered in order. It
// only ever saves work: a band it could not hash resolves to null, and the seal
// then makes the whole table itself (host/proxy/seal-received.ts).
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../io/worker.js';
import { tileHashes } from '../core/tiles.js';
import type { BandJob, BandResult } from './tile-worker.js';

class TileThread {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, (hashes: Uint8Array | null) => void>();

  constructor(onGone: (t: TileThread) => void) {
    this.worker = startWorker(import.meta.url, 'tile-worker');
    this.worker.on('message', (r: BandResult) => {
      if (spareBands.length < MAX_SPARE_BANDS) spareBands.push(r.band);
      this.settle(r.id, 'hashes' in r ? r.hashes : null);
    });
    const fail = () => {
      onGone(this);
      for (const id of [...this.pending.keys()]) this.settle(id, null);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', fail);
    // Never what keeps the process alive; ref'd only while a band is out. After the listeners:
    // adding a 'message' listener refs a worker again.
    this.worker.unref();
  }

  hash(band: Uint8Array, rows: number, cols: number, size: number): Promise<Uint8Array | null> {
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    const done = new Promise<Uint8Array | null>((resolve) => this.pending.set(id, resolve));
    const job: BandJob = { id, band, rows, cols, size };
    // The band's own buffer moves to the thread: no copy.
    this.worker.postMessage(job, [band.buffer as ArrayBuffer]);
    return done;
  }

  private settle(id: number, hashes: Uint8Array | null): void {
    const resolve = this.pending.get(id);
    if (!resolve) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
    resolve(hashes);
  }
}

let thread: TileThread | undefined;
/** Band buffers the thread gave back, for the next bands: an object's worth (19 MB in ~1 MB bands) and a little more. */
const spareBands: Uint8Array[] = [];
const MAX_SPARE_BANDS = 32;

/** A buffer of exactly `bytes` for a band: one the thread gave back when one has that size, else new. */
export function bandBuffer(bytes: number): Uint8Array {
  for (let i = spareBands.length - 1; i >= 0; i--) {
    if (spareBands[i]!.byteLength === bytes) return spareBands.splice(i, 1)[0]!;
  }
  return new Uint8Array(bytes);
}

function theThread(): TileThread {
  return thread ??= new TileThread((gone) => { if (thread === gone) thread = undefined; });
}

/** Starts the thread (loading its core) before the first object needs it; a failure here only means hashing on this thread later. */
export function warmTileThread(): void {
  try {
    theThread();
  } catch { /* hashBandOffThread falls back */ }
}

/**
 * The tile table of one band of whole tile rows (`band` must be the whole of its own buffer, which is
 * handed to the thread): null when it could not be made there. Without worker threads, hashed here.
 */
export function hashBandOffThread(band: Uint8Array, rows: number, cols: number, size: number): Promise<Uint8Array | null> {
  if (band.byteOffset !== 0 || band.byteLength !== band.buffer.byteLength) throw new Error('internal: a band must own its buffer');
  let t: TileThread;
  try {
    t = theThread();
  } catch {
    return Promise.resolve(tileHashes(band, rows, cols, size));
  }
  return t.hash(band, rows, cols, size);
}
