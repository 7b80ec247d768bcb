// The dead-letter folder of a forward queue: where an object goes that PACS refuses for good
// (a non-retryable DIMSE status, an HTTP 4xx from STOW-RS), so that it no longer blocks every
// object behind it. The move is atomic and durable; beside each object, <name>.json says why.
// Nothing here is ever deleted: an administrator looks, fixes (PACS configuration, the object)
// and moves the file back into the queue folder to send it again.
import { linkSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fsyncDir, moveDurably, privateDir, writeFileAtomic } from '../io/atomic.js';

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

/**
 * One target of several refuses a queued object for good: a hard link of it goes into `dir` (that
 * target's own dead-letter folder) with the note beside it, and the object stays queued for the
 * other targets. The note is written first, so a link in `dir` always has its reason; a crash
 * before the link leaves the object unsettled for that target, which refuses it again.
 */
export function linkDeadLetter(path: string, dir: string, note: Omit<DeadLetterNote, 'time'>): string {
  privateDir(dir);
  const parked = join(dir, basename(path));
  const full: DeadLetterNote = { ...note, time: new Date().toISOString() };
  writeFileAtomic(`${parked}.json`, Buffer.from(JSON.stringify(full, null, 2) + '\n'), { mode: 0o600 });
  try {
    linkSync(path, parked);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  fsyncDir(dir);
  return parked;
}

/** Objects parked in `dir` and in its per-target folders (notes and hidden files not counted). */
export function countDeadLetters(dir: string): number {
  let n = 0;
  try {
    for (const f of readdirSync(dir)) {
      if (f.startsWith('.') || f.endsWith('.json')) continue;
      if (statSync(join(dir, f)).isDirectory()) n += countDeadLetters(join(dir, f));
      else n++;
    }
  } catch {
    // no folder yet: nothing parked
  }
  return n;
}
