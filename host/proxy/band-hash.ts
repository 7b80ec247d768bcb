// What the tile thread does with one band of a received object's native pixels, shared by the
// thread (tile-worker.ts) and the in-thread fallback (tile-thread.ts, when no thread can start):
// the band's tile table, and the next part of the SHA-256 of the whole Pixel Data value (the
// attestation's "as received" hash), so that the receiving thread hashes the pixels once less.
import { createHash, type Hash } from 'node:crypto';
import { tileHashes } from '../core/tiles.js';

/** One band of whole tile rows of one object's pixels (`stream`), in the order they arrived. */
export interface BandJob { kind: 'band'; id: number; stream: number; first: boolean; band: Uint8Array; rows: number; cols: number; size: number }
/** The object's pixels are all in (or given up: `abandon`): the SHA-256 of every band of `stream`, in order. */
export interface EndJob { kind: 'end'; id: number; stream: number; abandon?: boolean }
export type Job = BandJob | EndJob;
/** A band's table, or an end's SHA-256; null where it could not be made (the seal then makes it itself). */
export interface JobResult { id: number; hashes?: Uint8Array | null; sha256?: Uint8Array | null; band?: Uint8Array }

/** More objects half-received at once than any proxy serves: the oldest one's hash is dropped (its seal hashes the pixels itself). */
const MAX_STREAMS = 64;

/** The SHA-256 of each object's pixels so far, by stream. A stream not begun here (a thread restarted mid-object) has none. */
export class PixelShas {
  private readonly open = new Map<number, Hash>();

  run(job: Job): JobResult {
    if (job.kind === 'end') {
      const h = this.open.get(job.stream);
      this.open.delete(job.stream);
      return { id: job.id, sha256: h && !job.abandon ? new Uint8Array(h.digest()) : null };
    }
    if (job.first) {
      this.open.set(job.stream, createHash('sha256'));
      if (this.open.size > MAX_STREAMS) this.open.delete(this.open.keys().next().value!);
    }
    this.open.get(job.stream)?.update(job.band);
    let hashes: Uint8Array | null;
    try {
      hashes = tileHashes(job.band, job.rows, job.cols, job.size);
    } catch {
      hashes = null;
    }
    return { id: job.id, hashes, band: job.band };
  }
}
