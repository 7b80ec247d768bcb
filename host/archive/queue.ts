// The job queue of the distributed audit, behind a small interface: the
// producer adds batches, archive-workers on any number of machines work them.
// A batch whose worker dies (its lock lapses) goes back to the queue for
// another; results are idempotent, so a batch done twice records once.
// The one implementation is BullMQ on Redis (bullmq-queue.ts).
import type { ArchiveItem } from './sources.js';

export interface Batch {
  auditId: number;
  items: ArchiveItem[];
}

export interface BatchQueue {
  /** Adds a batch under `id`; a batch with that id still in the queue is not added again. */
  add(id: string, batch: Batch): Promise<void>;
  /** Batches waiting or being worked on. */
  pending(): Promise<number>;
  /** Batches of the audit given up on after their retries, with the last error. */
  failed(auditId: number): Promise<Array<{ id: string; reason: string }>>;
  /** Works batches one at a time as they come; resolves once the worker runs. */
  work(handler: (batch: Batch, id: string) => Promise<void>, opts: { stallMs: number; log: (m: string) => void }): Promise<{ close(): Promise<void> }>;
  close(): Promise<void>;
}

export class QueueError extends Error {
  override name = 'QueueError';
}

/** redis://[user:password@]host:port[/db] (rediss:// for TLS). */
export async function openQueue(url: string): Promise<BatchQueue> {
  if (!/^rediss?:\/\//i.test(url)) throw new QueueError(`--queue must be a redis:// URL, got "${url.replace(/\/\/[^@/]*@/, '//***@')}"`);
  const { openBullQueue } = await import('./bullmq-queue.js');
  return openBullQueue(url);
}
