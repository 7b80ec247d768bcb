// The tile-table thread's side (host/proxy/tile-thread.ts): hashes each band of tile rows in this
// thread's own WebAssembly core, and the pixels' SHA-256 band by band (band-hash.ts).
import { parentPort } from 'node:worker_threads';
import { PixelShas, type Job } from './band-hash.js';

const shas = new PixelShas();
parentPort!.on('message', (job: Job) => {
  const reply = shas.run(job);
  // The band's buffer comes back with the answer, for the next band (fresh memory costs page faults).
  parentPort!.postMessage(reply, [reply.hashes?.buffer, reply.sha256?.buffer, reply.band?.buffer].filter((b) => b !== undefined) as ArrayBuffer[]);
});
