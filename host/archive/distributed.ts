// The distributed audit: the producer enumerates the source into batches (one
// series at a time, at most `batchSize` objects each) on the queue and follows
// the results store until every item is recorded; archive-workers on any number
// of machines verify batches with the audit's own trust bundle and policy (read
// from the store, so every machine decides alike) and record the results.
import { createHash } from 'node:crypto';
import { verifyFiles, type VerifyPoolOptions } from '../ingest/pool/verify-pool.js';
import { withAuth, type ArchiveItem, type ArchiveSource } from './sources.js';
import { toRow } from './row.js';
import { addCounts, unrecorded, type AuditOutcome } from './embedded.js';
import type { Audit, ResultRow, ResultsStore } from './store.js';
import type { BatchQueue } from './queue.js';
import type { Progress } from './progress.js';

export interface ProducerOptions {
  source: ArchiveSource;
  store: ResultsStore;
  audit: Audit;
  queue: BatchQueue;
  batchSize: number;
  /** Stop adding while this many batches wait (the queue is not a copy of the archive). */
  maxPending?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  note?: (message: string) => void;
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A batch's id: the audit and its items, so the same batch added again is one job. */
export function batchId(auditId: number, items: ArchiveItem[]): string {
  const h = createHash('sha256');
  for (const i of items) h.update(i.key).update('\u0000');
  return `audit${auditId}-${h.digest('hex').slice(0, 32)}`;
}

export async function runProducer(o: ProducerOptions): Promise<AuditOutcome & { failedBatches: Array<{ id: string; reason: string }> }> {
  const { store, audit, queue } = o;
  const t0 = Date.now();
  const startCounts = await store.counts(audit.id);
  const progress: Progress = { auditId: audit.id, counts: startCounts, total: audit.enumerated, sessionItems: 0, sessionBytes: 0, seconds: 0 };
  if (progress.total === null) void o.source.estimate().then((n) => (progress.total ??= n), () => {});
  const maxPending = o.maxPending ?? 2000;
  const pollMs = o.pollMs ?? 1000;
  const counter = { seen: 0, skipped: 0, complete: false };
  const refresh = async () => {
    const c = await store.counts(audit.id);
    progress.sessionItems = c.items - startCounts.items;
    progress.sessionBytes = c.bytes - startCounts.bytes;
    progress.counts = c;
    progress.seconds = (Date.now() - t0) / 1000;
    o.onProgress?.(progress);
  };

  let batch: ArchiveItem[] = [];
  let lastRefresh = 0;
  const send = async () => {
    if (!batch.length) return;
    await queue.add(batchId(audit.id, batch), { auditId: audit.id, items: batch });
    batch = [];
    while (!o.signal?.aborted && (await queue.pending()) >= maxPending) {
      await refresh();
      await sleep(pollMs);
    }
    if (Date.now() - lastRefresh > pollMs) {
      lastRefresh = Date.now();
      await refresh();
    }
  };
  for await (const item of unrecorded(o.source, store, audit.id, counter, o.signal, o.note)) {
    if (batch.length && (batch.length >= o.batchSize || batch[0]!.group !== item.group)) await send();
    batch.push(item);
  }
  await send();

  let failedBatches: Array<{ id: string; reason: string }> = [];
  if (counter.complete) {
    await store.setEnumerated(audit.id, counter.seen);
    progress.total = counter.seen;
    // Follow the workers until every item is recorded, or some batch has failed for good.
    for (;;) {
      await refresh();
      if (progress.counts.items >= counter.seen || o.signal?.aborted) break;
      failedBatches = await queue.failed(audit.id);
      if (failedBatches.length && (await queue.pending()) === 0) break;
      await sleep(pollMs);
    }
  }
  const finished = counter.complete && !o.signal?.aborted && progress.counts.items >= counter.seen;
  if (finished) await store.finishAudit(audit.id);
  return { finished, counts: progress.counts, processed: progress.sessionItems, alreadyRecorded: counter.skipped, progress, failedBatches };
}

export interface WorkerOptions {
  queue: BatchQueue;
  store: ResultsStore;
  pool: Pick<VerifyPoolOptions, 'workers' | 'watermarkKey' | 'timeoutMs' | 'maxObjectBytes'>;
  /** SHA-256 of the watermark key this worker holds (an audit that needs one must get the same). */
  watermarkKeyId: string | null;
  auth?: string;
  stallMs: number;
  log: (m: string) => void;
}

/** Works batches until closed. */
export async function runArchiveWorker(o: WorkerOptions): Promise<{ close(): Promise<void> }> {
  return o.queue.work(async (batch, id) => {
    // Looked up for every batch: an audit abandoned (--new-audit) meanwhile is not worked on.
    const audit: Audit | null = await o.store.getAudit(batch.auditId);
    if (!audit) throw new Error(`audit #${batch.auditId} is not in the results store this worker uses`);
    if (audit.status !== 'running') {
      o.log(`batch ${id}: skipped, audit #${audit.id} is ${audit.status}`);
      return;
    }
    if (audit.watermarkKeyId !== o.watermarkKeyId) {
      throw new Error(audit.watermarkKeyId ? `audit #${audit.id} requires the site watermark key; this worker has ${o.watermarkKeyId ? 'a different one' : 'none'} (--wm-key)` : `audit #${audit.id} runs without a watermark key; start this worker without --wm-key`);
    }
    const done = await o.store.recorded(audit.id, batch.items.map((i) => i.key));
    const todo = batch.items.filter((i) => !done.has(i.key));
    o.log(`batch ${id}: started, ${todo.length} of ${batch.items.length} objects to verify (audit #${audit.id})`);
    const byPath = new Map(todo.map((i) => [i.path, i]));
    let rows: ResultRow[] = [];
    const added = { items: 0, errors: 0, verdicts: {}, bytes: 0 };
    for await (const r of verifyFiles(todo.map((i) => withAuth(i, o.auth)), { trust: audit.trustPem, policy: audit.policy, revocation: audit.revocation, ...o.pool })) {
      rows.push(toRow(byPath.get(r.path)!, r));
      if (rows.length >= 50) {
        addCounts(added, await o.store.record(audit.id, rows));
        rows = [];
      }
    }
    addCounts(added, await o.store.record(audit.id, rows));
    o.log(`batch ${id}: done, ${added.items} recorded`);
  }, { stallMs: o.stallMs, log: o.log });
}
