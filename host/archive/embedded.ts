// The embedded audit: one machine, worker threads on all cores, results in the
// store as they finish. Resumable: items already recorded in the audit are not
// read again; an interrupted run (Ctrl-C, crash, power) leaves the audit
// running, and the same command carries on where it stopped.
import { verifyFiles, type VerifyPoolOptions } from '../ingest/pool/verify-pool.js';
import { withAuth, type ArchiveItem, type ArchiveSource } from './sources.js';
import { toRow } from './row.js';
import type { Audit, AuditCounts, ResultRow, ResultsStore } from './store.js';
import type { Progress } from './progress.js';

export interface EmbeddedOptions {
  source: ArchiveSource;
  store: ResultsStore;
  audit: Audit;
  /** Pool settings besides the audit's own trust, policy and revocation. */
  pool: Pick<VerifyPoolOptions, 'workers' | 'watermarkKey' | 'timeoutMs' | 'maxObjectBytes'>;
  /** PACS credentials ("user:password") for reading objects. */
  auth?: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  note?: (message: string) => void;
}

export interface AuditOutcome {
  finished: boolean;
  counts: AuditCounts;
  /** Items this run verified (or failed to), and items it found already recorded. */
  processed: number;
  alreadyRecorded: number;
  progress: Progress;
}

/**
 * The source's items the audit has not recorded yet, looked up in slices. `counter` counts every
 * item the source named; it is complete (`enumerated`) only when the source ran to its end.
 */
export async function* unrecorded(source: ArchiveSource, store: ResultsStore, auditId: number, counter: { seen: number; skipped: number; complete: boolean }, signal?: AbortSignal, note?: (m: string) => void): AsyncGenerator<ArchiveItem> {
  let slice: ArchiveItem[] = [];
  const drain = async function* () {
    const done = await store.recorded(auditId, slice.map((i) => i.key));
    counter.skipped += done.size;
    const todo = slice.filter((i) => !done.has(i.key));
    slice = [];
    for (const item of todo) {
      if (signal?.aborted) return;
      yield item;
    }
  };
  for await (const item of source.items(note)) {
    if (signal?.aborted) return;
    counter.seen++;
    slice.push(item);
    if (slice.length >= 256) yield* drain();
  }
  if (signal?.aborted) return;
  yield* drain();
  counter.complete = !signal?.aborted;
}

export function addCounts(to: AuditCounts, more: AuditCounts): void {
  to.items += more.items;
  to.errors += more.errors;
  to.bytes += more.bytes;
  for (const [k, n] of Object.entries(more.verdicts)) to.verdicts[k as keyof AuditCounts['verdicts']] = (to.verdicts[k as keyof AuditCounts['verdicts']] ?? 0) + n;
}

export async function runEmbedded(o: EmbeddedOptions): Promise<AuditOutcome> {
  const { store, audit } = o;
  const counts = await store.counts(audit.id);
  const t0 = Date.now();
  const progress: Progress = { auditId: audit.id, counts, total: audit.enumerated, sessionItems: 0, sessionBytes: 0, seconds: 0 };
  if (progress.total === null) void o.source.estimate().then((n) => (progress.total ??= n), () => {});
  const counter = { seen: 0, skipped: 0, complete: false };
  const inFlight = new Map<string, ArchiveItem>();
  const inputs = (async function* () {
    for await (const item of unrecorded(o.source, store, audit.id, counter, o.signal, o.note)) {
      inFlight.set(item.path, item);
      yield withAuth(item, o.auth);
    }
  })();

  let pending: ResultRow[] = [];
  let lastFlush = Date.now();
  const flush = async () => {
    const rows = pending;
    pending = [];
    lastFlush = Date.now();
    addCounts(counts, await store.record(audit.id, rows));
    for (const r of rows) {
      progress.sessionItems++;
      progress.sessionBytes += r.size ?? 0;
    }
    progress.seconds = (Date.now() - t0) / 1000;
    o.onProgress?.(progress);
  };

  try {
    for await (const r of verifyFiles(inputs, { trust: audit.trustPem, policy: audit.policy, revocation: audit.revocation, ...o.pool })) {
      const item = inFlight.get(r.path)!;
      inFlight.delete(r.path);
      pending.push(toRow(item, r));
      if (pending.length >= 200 || Date.now() - lastFlush > 100) await flush();
    }
  } finally {
    await flush(); // what finished before an error or an interruption is kept
  }
  const finished = counter.complete && !o.signal?.aborted;
  if (finished) {
    await store.setEnumerated(audit.id, counter.seen);
    progress.total = counter.seen;
    await store.finishAudit(audit.id);
  }
  progress.seconds = (Date.now() - t0) / 1000;
  return { finished, counts, processed: progress.sessionItems, alreadyRecorded: counter.skipped, progress };
}
