// The tile-table thread's side (host/proxy/tile-thread.ts): hashes one band of
// tile rows in this thread's own WebAssembly core and sends the table back.
import { parentPort } from 'node:worker_threads';
import { tileHashes } from '../core/tiles.js';

export interface BandJob { id: number; band: Uint8Array; rows: number; cols: number; size: number }
/** The band's buffer comes back with the answer, for the next band (fresh memory costs page faults). */
export type BandResult = { id: number; hashes: Uint8Array; band: Uint8Array } | { id: number; error: string; band: Uint8Array };

parentPort!.on('message', (job: BandJob) => {
  let reply: BandResult;
  try {
    reply = { id: job.id, hashes: tileHashes(job.band, job.rows, job.cols, job.size), band: job.band };
  } catch (err) {
    reply = { id: job.id, error: (err as Error).message, band: job.band };
  }
  parentPort!.postMessage(reply, ['hashes' in reply ? reply.hashes.buffer as ArrayBuffer : null, job.band.buffer as ArrayBuffer].filter((b) => b !== null));
});
