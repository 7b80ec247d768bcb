// Runs a fuzz target over input indices [start, start + count) on worker
// threads, merges their counters, and catches hangs: an input that keeps the
// code under test busy longer than the limit gets its worker stopped,
// is recorded (and saved), and the rest of its batch goes to a new worker.
import type { Worker } from 'node:worker_threads';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptyStats, mergeStats, countClass, countInput, type FuzzStats } from './stats.js';
import { mutate, operatorLabel } from './dicom-mutator.js';
import { linkInput } from './link-mutator.js';
import type { CorpusData, FromWorker, FuzzTarget, ToWorker, WorkerSetup } from './pool-messages.js';
import type {} from './worker.js'; // type-checked with the pool; started by startWorker below
import { startWorker } from '../../host/io/worker.js';

export type { FuzzTarget, CorpusData } from './pool-messages.js';

export interface FuzzRunOptions {
  target: FuzzTarget;
  seed: number;
  count: number;
  start?: number;
  workers: number;
  outDir: string;
  /** DICOM target: the sealed bases and the trust bundle. */
  corpus?: CorpusData;
  batch?: number;
  /** An input busy longer than this is a hang (default 5 s). */
  hangMs?: number;
  /** Stop handing out batches after this many seconds (the batches under way finish). */
  maxSeconds?: number;
  onProgress?: (stats: FuzzStats, seconds: number) => void;
  progressEveryMs?: number;
}

export interface FuzzRunResult {
  stats: FuzzStats;
  seconds: number;
  inputsPerSecond: number;
}

interface Slot {
  worker: Worker;
  batch: { start: number; end: number } | null;
  stopping: boolean;
}

export function runFuzz(o: FuzzRunOptions): Promise<FuzzRunResult> {
  const hangMs = o.hangMs ?? 5000;
  const batch = o.batch ?? 50;
  const from = o.start ?? 0;
  const queue: Array<{ start: number; end: number }> = [];
  for (let s = from; s < from + o.count; s += batch) queue.push({ start: s, end: Math.min(s + batch, from + o.count) });
  const clock = new SharedArrayBuffer(8 * 2 * o.workers);
  const times = new Float64Array(clock);
  const stats = emptyStats();
  const t0 = Date.now();
  const slots: Slot[] = [];
  mkdirSync(o.outDir, { recursive: true });

  return new Promise((resolve, reject) => {
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      clearInterval(watchdog);
      clearInterval(progress);
      for (const s of slots) {
        s.stopping = true;
        s.worker.postMessage({ type: 'stop' } satisfies ToWorker);
        setTimeout(() => void s.worker.terminate(), 2000).unref();
      }
      const seconds = (Date.now() - t0) / 1000;
      if (err) reject(err);
      else resolve({ stats, seconds, inputsPerSecond: stats.inputs / seconds });
    };

    const dispatch = (i: number) => {
      if (o.maxSeconds !== undefined && Date.now() - t0 > o.maxSeconds * 1000) queue.length = 0;
      const s = slots[i]!;
      const next = queue.shift();
      s.batch = next ?? null;
      if (next) s.worker.postMessage({ type: 'batch', ...next } satisfies ToWorker);
      else if (slots.every((x) => !x.batch)) finish();
    };

    /** An input the worker never came back from: count it, save it, and requeue the rest of its batch. */
    const lost = (i: number, kind: 'hang' | 'escape', why: string) => {
      const s = slots[i]!;
      const b = s.batch!;
      const running = times[i * 2 + 1]! > 0;
      const index = running ? times[i * 2]! : b.start;
      const record = recordLost(o, index, kind, why);
      if (kind === 'hang') stats.hangs++;
      else stats.escapes++;
      countInput(stats, record.operators, kind, Date.now() - (times[i * 2 + 1]! || Date.now()), index);
      countClass(stats.classes[kind], `${record.label}: ${why}`, { seed: o.seed, index, operators: record.label, verdict: kind, detail: `${record.detail} -> ${why}`, file: record.file });
      if (b.start < index) queue.unshift({ start: b.start, end: index });
      if (index + 1 < b.end) queue.unshift({ start: index + 1, end: b.end });
      s.batch = null;
      s.stopping = true;
      void s.worker.terminate();
      slots[i] = spawn(i);
    };

    const spawn = (i: number): Slot => {
      const setup: WorkerSetup = { target: o.target, seed: o.seed, outDir: o.outDir, corpus: o.corpus, clock, slot: i };
      times[i * 2] = 0;
      times[i * 2 + 1] = 0;
      const worker = startWorker(import.meta.url, 'worker', { workerData: setup });
      const slot: Slot = { worker, batch: null, stopping: false };
      worker.on('message', (m: FromWorker) => {
        if (slots[i] !== slot || finished) return;
        if (m.type === 'done') mergeStats(stats, m.stats);
        dispatch(i);
      });
      worker.on('error', (err) => {
        if (slots[i] !== slot || finished || slot.stopping) return;
        if (!slot.batch) return finish(err);
        lost(i, 'escape', `worker died: ${err.name}: ${err.message}`.slice(0, 200));
      });
      worker.on('exit', (code) => {
        if (slots[i] !== slot || finished || slot.stopping) return;
        if (!slot.batch) return finish(new Error(`fuzz worker exited with code ${code} between batches`));
        lost(i, 'escape', `worker exited with code ${code}`);
      });
      return slot;
    };

    const watchdog = setInterval(() => {
      const now = Date.now();
      slots.forEach((s, i) => {
        const since = times[i * 2 + 1]!;
        if (s.batch && since > 0 && now - since > hangMs) lost(i, 'hang', `no answer within ${hangMs / 1000} s`);
      });
    }, 100);
    const progress = setInterval(() => o.onProgress?.(stats, (Date.now() - t0) / 1000), o.progressEveryMs ?? 10_000);
    for (let i = 0; i < o.workers; i++) slots.push(spawn(i));
  });
}

/** Regenerates a lost input from (seed, index) in this thread, saves it, and names it. */
function recordLost(o: FuzzRunOptions, index: number, kind: string, why: string): { operators: string[]; label: string; detail: string; file: string } {
  const folder = kind === 'hang' ? 'hangs' : 'escapes';
  mkdirSync(join(o.outDir, folder), { recursive: true });
  const name = `${o.seed}-${index}`;
  if (o.target === 'dicom') {
    const m = mutate(o.corpus!.bases, o.seed, index);
    writeFileSync(join(o.outDir, folder, `${name}.dcm`), m.bytes);
    writeFileSync(join(o.outDir, folder, `${name}.json`), JSON.stringify({ seed: o.seed, index, base: m.base, operators: m.operators, details: m.details, kind: m.kind, problem: why }, null, 1));
    return { operators: m.operators, label: operatorLabel(m), detail: m.details.join('; '), file: join(folder, `${name}.dcm`) };
  }
  const input = linkInput(o.seed, index);
  writeFileSync(join(o.outDir, folder, `${name}.bin`), input.stream);
  writeFileSync(join(o.outDir, folder, `${name}.json`), JSON.stringify({ seed: o.seed, index, operators: input.operators, details: input.details, splits: input.splits, problem: why }, null, 1));
  return { operators: input.operators, label: input.operators.join('+') || '(none)', detail: input.details.join('; '), file: join(folder, `${name}.bin`) };
}
