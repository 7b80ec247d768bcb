// What the fuzz pool and its workers say to each other.
import type { FuzzStats } from './stats.js';

export type FuzzTarget = 'dicom' | 'link';

export interface CorpusData {
  bases: Array<{ name: string; bytes: Uint8Array; watermarkKey?: Uint8Array; weight?: number }>;
  trustPem: string;
}

export interface WorkerSetup {
  target: FuzzTarget;
  seed: number;
  outDir: string;
  corpus?: CorpusData;
  /** SharedArrayBuffer of Float64 pairs [input index, start ms] per worker slot. */
  clock: SharedArrayBuffer;
  slot: number;
}

export type ToWorker = { type: 'batch'; start: number; end: number } | { type: 'stop' };
export type FromWorker = { type: 'ready' } | { type: 'done'; start: number; end: number; stats: FuzzStats };
