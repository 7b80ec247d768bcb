// The ingest gateway's forward queue: a hard link of each stored object in
// QUEUE/pending is the queue entry (cheap, atomic, survives restarts; the
// stored file itself is never moved). Entries are named by arrival time, so
// a sorted listing is the sending order. A sent entry is unlinked; one PACS
// refuses for good goes to QUEUE/dead-letter (host/net/dead-letter.ts).
import { linkSync, readdirSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fsyncDir, privateDir } from '../io/atomic.js';
import { countDeadLetters, DEAD_LETTER_FOLDER, parkDeadLetter } from './dead-letter.js';
import type { ForwardQueueStore, QueuedObject } from './forwarder.js';

export class LinkQueue implements ForwardQueueStore<QueuedObject> {
  readonly pendingDir: string;
  readonly deadLetterDir: string;
  private last = 0;

  /** `dir` must be on the same file system as the files enqueued (hard links). */
  constructor(dir: string) {
    this.pendingDir = join(dir, 'pending');
    this.deadLetterDir = join(dir, DEAD_LETTER_FOLDER);
    for (const d of [dir, this.pendingDir, this.deadLetterDir]) privateDir(d);
  }

  /** Queues a stored file; durable when this returns. */
  enqueue(storedPath: string): void {
    // Strictly increasing stamps keep arrival order even within one millisecond.
    this.last = Math.max(this.last + 1, Date.now());
    linkSync(storedPath, join(this.pendingDir, `${String(this.last).padStart(15, '0')}-${basename(storedPath)}`));
    fsyncDir(this.pendingDir);
  }

  pending(): QueuedObject[] {
    return readdirSync(this.pendingDir).filter((f) => !f.startsWith('.')).sort().map((name) => ({ name, path: join(this.pendingDir, name) }));
  }

  markSent(e: QueuedObject): void {
    unlinkSync(e.path);
    fsyncDir(this.pendingDir);
  }

  deadLetter(e: QueuedObject, note: { target: string; reason: string }): string {
    return parkDeadLetter(e.path, this.deadLetterDir, { name: e.name, ...note });
  }

  deadLettered(): number {
    return countDeadLetters(this.deadLetterDir);
  }
}
