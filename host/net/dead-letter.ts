// The dead-letter folder of a forward queue: where an object goes that PACS refuses for good
// (a non-retryable DIMSE status, an HTTP 4xx from STOW-RS), so that it no longer blocks every
// object behind it. The move is atomic and durable; beside each object, <name>.json says why.
// Nothing here is ever deleted: an administrator looks, fixes (PACS configuration, the object)
// and moves the file back into the queue folder to send it again.
import { readdirSync } from 'node:fs';
import { moveDurably, privateDir, writeFileAtomic } from '../io/atomic.js';

export const DEAD_LETTER_FOLDER = 'dead-letter';

export interface DeadLetterNote {
  /** The queue entry's name when it was parked. */
  name: string;
  /** Where it was being sent. */
  target: string;
  /** PACS's answer, as the SCU or STOW client reported it. */
  reason: string;
  time: string;
}


/** Moves a queued object into `dir` with a note beside it; returns the object's new path. */
export function parkDeadLetter(path: string, dir: string, note: Omit<DeadLetterNote, 'time'>): string {
  privateDir(dir); // patients' objects: owner-only
  const parked = moveDurably(path, dir);
  const full: DeadLetterNote = { ...note, time: new Date().toISOString() };
  writeFileAtomic(`${parked}.json`, Buffer.from(JSON.stringify(full, null, 2) + '\n'), { mode: 0o600 });
  return parked;
}

/** Objects parked in `dir` (notes and hidden files not counted). */
export function countDeadLetters(dir: string): number {
  try {
    return readdirSync(dir).filter((f) => !f.startsWith('.') && !f.endsWith('.json')).length;
  } catch {
    return 0;
  }
}
