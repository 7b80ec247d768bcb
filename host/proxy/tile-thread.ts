// The received object's tile table, and the SHA-256 of its pixels, made in a worker thread while
// the SCP keeps receiving on the main thread: on two cores the WebAssembly tile hashing (the
// largest cost of a native 16-bit object) and a pass of SHA-256 no longer slow the receive down,
// and when the last fragment is in only its last band is left to hash.
//
// One thread for the process, started on first use, jobs answered in order. It only ever saves
// work: a band it could not hash resolves to null, and so does a pixel hash it did not see whole;
// the seal then makes them itself (host/proxy/seal-received.ts).
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../io/worker.js';
import { PixelShas, type Job, type JobResult } from './band-hash.js';

class TileThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, (r: JobResult | null) => void>();

  constructor(onGone: (t: TileThread) => void) {
    this.worker = startWorker(import.meta.url, 'tile-worker');
    this.worker.on('message', (r: JobResult) => {
      if (r.band && spareBands.length < MAX_SPARE_BANDS) spareBands.push(r.band);
      this.settle(r.id, r);
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

  run(job: Job): Promise<JobResult | null> {
    if (this.pending.size === 0) this.worker.ref();
    const done = new Promise<JobResult | null>((resolve) => this.pending.set(job.id, resolve));
    // A band's own buffer moves to the thread: no copy.
    this.worker.postMessage(job, job.kind === 'band' ? [job.band.buffer as ArrayBuffer] : []);
    return done;
  }

  private settle(id: number, r: JobResult | null): void {
    const resolve = this.pending.get(id);
    if (!resolve) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
    resolve(r);
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

/** Where the thread cannot start (no worker threads): the same work, on this thread. */
const here = new PixelShas();
let nextJob = 1;
let nextStream = 1;

function run(job: Job): Promise<JobResult | null> {
  let t: TileThread;
  try {
    t = theThread();
  } catch {
    return Promise.resolve(here.run(job));
  }
  return t.run(job);
}

/** One received object's native pixels, band after band of whole tile rows, hashed on the thread. */
export class PixelBandStream {
  private readonly stream = nextStream++;
  private bands = 0;
  private ended = false;

  /** `sha256` false: tile tables only (end() then gives null). */
  constructor(private readonly sha256 = true) {}

  /**
   * The tile table of one band (`band` must be the whole of its own buffer, which is handed to the
   * thread), and the band into the pixels' SHA-256: null when the table could not be made there.
   */
  band(band: Uint8Array, rows: number, cols: number, size: number): Promise<Uint8Array | null> {
    if (band.byteOffset !== 0 || band.byteLength !== band.buffer.byteLength) throw new Error('internal: a band must own its buffer');
    if (this.ended) throw new Error('internal: a band after the end of the pixels');
    return run({ kind: 'band', id: nextJob++, stream: this.stream, first: this.bands++ === 0 && this.sha256, band, rows, cols, size }).then((r) => r?.hashes ?? null);
  }

  /** Every band is in: the SHA-256 of them all, in order (null when the thread did not see each of them). */
  end(): Promise<Uint8Array | null> {
    this.ended = true;
    if (!this.sha256) return Promise.resolve(null);
    return run({ kind: 'end', id: nextJob++, stream: this.stream }).then((r) => r?.sha256 ?? null);
  }

  /** The pixels will not be finished (the walk stopped): the thread drops the stream's hash. */
  abandon(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.sha256) void run({ kind: 'end', id: nextJob++, stream: this.stream, abandon: true });
  }
}

/** Pixel bytes per message to the tile thread: fewer, larger messages (each costs the receiving thread a post). */
const BYTES_PER_POST = 1 << 20;

/**
 * Tile hashes of native uint16 frames arriving in pieces, and their SHA-256, off the receiving
 * thread: whole tile rows of about a megabyte at a time (never across frames), each hashed as soon
 * as it is in.
 */
export class TileBands {
  private band: Uint8Array;
  private have = 0;
  private rowInFrame = 0;
  private readonly rowsPerPost: number;
  private readonly out: Promise<Uint8Array | null>[] = [];
  private readonly stream: PixelBandStream;

  /** `sha256`: the thread hashes the pixels too (else finish() gives a null sha256). */
  constructor(private readonly rows: number, private readonly cols: number, private readonly size: number, sha256 = true) {
    this.stream = new PixelBandStream(sha256);
    this.rowsPerPost = size * Math.max(1, Math.floor(BYTES_PER_POST / (size * cols * 2)));
    this.band = bandBuffer(this.bandRows() * cols * 2);
  }

  /** Rows of the band now filling: rowsPerPost, or what is left of the frame. */
  private bandRows(): number {
    return Math.min(this.rowsPerPost, this.rows - this.rowInFrame);
  }

  update(part: Uint8Array): void {
    for (let i = 0; i < part.length; ) {
      const bandRows = this.bandRows();
      const bandBytes = bandRows * this.cols * 2;
      const n = Math.min(bandBytes - this.have, part.length - i);
      this.band.set(part.subarray(i, i + n), this.have);
      this.have += n;
      i += n;
      if (this.have === bandBytes) {
        // The full band goes to the thread with its buffer; the next one fills a new buffer.
        this.out.push(this.stream.band(this.band, bandRows, this.cols, this.size));
        this.have = 0;
        this.rowInFrame += bandRows;
        if (this.rowInFrame === this.rows) this.rowInFrame = 0;
        this.band = bandBuffer(this.bandRows() * this.cols * 2);
      }
    }
  }

  /** The table, frame after frame, and the pixels' SHA-256: each null when the thread could not make it. */
  async finish(): Promise<{ hashes: Uint8Array | null; sha256: Uint8Array | null }> {
    if (this.have !== 0 || this.out.length === 0) {
      this.stream.abandon();
      throw new Error('internal: pixel data ended inside a band');
    }
    const sha256 = this.stream.end();
    const bands = await Promise.all(this.out);
    return { hashes: bands.every((b) => b !== null) ? Buffer.concat(bands as Uint8Array[]) : null, sha256: await sha256 };
  }

  /** The pixels will not all come. */
  abandon(): void {
    this.stream.abandon();
  }
}
