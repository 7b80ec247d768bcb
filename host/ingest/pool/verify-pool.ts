// Verify many objects on all cores, results as they finish.
//
//   for await (const r of verifyFiles(paths, { trust: 'trust.pem' })) …
//
// verifyFiles(source, options) → AsyncIterable<PoolResult>
//   source   AsyncIterable or Iterable of file paths, or of { path, url?, headers? }: with url,
//            the object is fetched with a GET (a multipart/related answer, as WADO-RS sends,
//            is unwrapped to its first part) and `path` is only the name it is reported under.
//   options  trust (bundle path or its bytes), revocation, policy, watermarkKey (as
//            verifyObject takes them); workers (default: os.availableParallelism());
//            maxInFlight (objects taken from the source but not yet handed to the consumer,
//            default 2 × workers: back-pressure, a slow consumer stops the reading);
//            timeoutMs (one object, default 10 min); maxObjectBytes (default 1 GiB, as the
//            gateway); fullPixelCheck (as verifyObject's).
// Every object the source yields comes back exactly once, in finishing order:
//   { path, size, fileSha256, report, attributes }   verified (report is verifyObject's)
//   { path, size: null, fileSha256: null, error }    not verified: unreadable, too large, its
//                                                    worker died or timed out (the worker is
//                                                    replaced and the audit goes on)
// Throws only for what no object can get past: a trust bundle that does not load, a source
// that throws. Stopping early (break, return) stops the workers.
//
// startVerifyPool(options) → { verify(source), close() } starts the workers at once, for a caller
// with work to do before its first object (radseal verify walks its folders meanwhile).
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../io/worker.js';
import { availableParallelism } from 'node:os';
import { DEFAULT_MAX_OBJECT_BYTES } from '../../net/limits.js';
import type { VerifyPolicy } from '../policy.js';
import type { VerifyReport } from '../verify-report.js';
import type { RevocationOptions } from '../../keys/pki/revocation.js';

export interface VerifyPoolOptions {
  /** Trust bundle: path of the PEM file, or its bytes. */
  trust: string | Uint8Array;
  revocation?: RevocationOptions;
  policy?: VerifyPolicy;
  watermarkKey?: Uint8Array;
  workers?: number;
  maxInFlight?: number;
  timeoutMs?: number;
  maxObjectBytes?: number;
  /**
   * Also the file's SHA-256 and the attributes an archive groups by (default true). A plain batch
   * verify needs neither: false spares each object a second whole-file hash and a second parse.
   */
  describe?: boolean;
  /** As verifyObject's fullPixelCheck: recompute the pixel hash even when a device signature proves the pixels. */
  fullPixelCheck?: boolean;
}

export type PoolInput = string | { path: string; url?: string; headers?: Record<string, string> };

/** What an archive summary groups objects by (from the data set; unverified claims). */
export interface ObjectAttributes {
  modality: string | null;
  studyDate: string | null;
  studyInstanceUid: string | null;
  seriesInstanceUid: string | null;
  manufacturer: string | null;
  modelName: string | null;
  deviceSerialNumber: string | null;
  stationName: string | null;
}

export type PoolResult =
  | { path: string; size: number; fileSha256: string | null; report: VerifyReport; attributes: ObjectAttributes | null; error?: undefined }
  | { path: string; size: null; fileSha256: null; error: string; report?: undefined; attributes?: undefined };

/** @internal The worker's start-up data and messages (verify-worker.ts). */
export interface WorkerSetup {
  trust: string | Uint8Array;
  revocation?: RevocationOptions;
  policy?: VerifyPolicy;
  watermarkKey?: Uint8Array;
  maxObjectBytes: number;
  describe: boolean;
  fullPixelCheck?: boolean;
}
/** @internal */
export interface PoolJob { id: number; path: string; url?: string; headers?: Record<string, string> }
/** @internal */
export type FromWorker = { type: 'ready' } | { type: 'fatal'; message: string } | { type: 'result'; id: number; result: PoolResult };

interface Slot {
  worker: Worker;
  ready: boolean;
  job: PoolJob | null;
  timer: NodeJS.Timeout | null;
}

/** A pool whose workers are already starting: for a caller that has other work before its first object (a folder walk). */
export interface VerifyPool {
  /** Every object of `source`, once, in finishing order (as verifyFiles). Call once; when it ends, or is stopped, the pool is closed. */
  verify(source: AsyncIterable<PoolInput> | Iterable<PoolInput>): AsyncGenerator<PoolResult>;
  /** At most `n` workers are needed (the caller has counted its objects): the others stop. Before verify. */
  keep(n: number): void;
  /** Stops the workers (a pool that will verify nothing after all). */
  close(): void;
}

/** Objects verified on worker threads; see the top of this file. */
export async function* verifyFiles(source: AsyncIterable<PoolInput> | Iterable<PoolInput>, options: VerifyPoolOptions): AsyncGenerator<PoolResult> {
  yield* startVerifyPool(options).verify(source);
}

/** Starts the workers now (they load their modules and the trust bundle while the caller goes on). */
export function startVerifyPool(options: VerifyPoolOptions): VerifyPool {
  const count = Math.max(1, options.workers ?? availableParallelism());
  const maxInFlight = Math.max(count, options.maxInFlight ?? 2 * count);
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const setup: WorkerSetup = {
    trust: options.trust, revocation: options.revocation, policy: options.policy, watermarkKey: options.watermarkKey,
    maxObjectBytes: options.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES, describe: options.describe ?? true,
    fullPixelCheck: options.fullPixelCheck,
  };

  const done: PoolResult[] = [];
  const waiting: PoolJob[] = []; // taken from the source, no idle worker yet
  let busy = 0;
  let nextId = 0;
  let exhausted = false;
  let failure: Error | null = null;
  let stopped = false;
  let used = false;
  let wake: (() => void) | null = null;
  const changed = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const slots: Slot[] = [];

  const dispatch = () => {
    for (const s of slots) {
      if (!s.ready || s.job || !waiting.length) continue;
      const job = waiting.shift()!;
      s.job = job;
      busy++;
      s.timer = setTimeout(() => lose(s, `verification did not finish within ${Math.round(timeoutMs / 1000)} s; its worker was stopped`), timeoutMs);
      s.worker.postMessage(job);
    }
  };
  const finishJob = (s: Slot, result: PoolResult) => {
    if (s.timer) clearTimeout(s.timer);
    s.timer = null;
    s.job = null;
    busy--;
    done.push(result);
    dispatch();
    changed();
  };
  /** The slot's worker is gone or stuck: its object is an error result, and a new worker takes its place. */
  const lose = (s: Slot, why: string) => {
    const i = slots.indexOf(s);
    if (i < 0) return;
    const job = s.job;
    slots.splice(i, 1);
    void s.worker.terminate();
    if (job) finishJob(s, { path: job.path, size: null, fileSha256: null, error: `not verified: ${why}` });
    if (!stopped) slots.push(spawn());
    changed();
  };
  const spawn = (): Slot => {
    const slot: Slot = { worker: startWorker(import.meta.url, 'verify-worker', { workerData: setup }), ready: false, job: null, timer: null };
    slot.worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') {
        slot.ready = true;
        dispatch();
      } else if (m.type === 'fatal') {
        failure ??= new Error(m.message);
        changed();
      } else if (slot.job && m.id === slot.job.id) {
        finishJob(slot, m.result);
      }
    });
    slot.worker.on('error', (err) => {
      if (!slot.ready && !slot.job) {
        // Dying before it could take any object: it would die again; say why instead of looping.
        failure ??= new Error(`verify worker failed to start: ${err.message}`);
        changed();
        return;
      }
      lose(slot, `its worker died (${err.name}: ${err.message})`);
    });
    slot.worker.on('exit', (code) => {
      if (stopped || !slots.includes(slot)) return;
      if (!slot.ready && !slot.job) {
        failure ??= new Error(`verify worker exited with code ${code} before it was ready`);
        changed();
        return;
      }
      lose(slot, `its worker exited with code ${code}`);
    });
    return slot;
  };
  const close = () => {
    stopped = true;
    for (const s of slots) {
      if (s.timer) clearTimeout(s.timer);
      void s.worker.terminate();
    }
  };

  const keep = (n: number) => {
    if (used) throw new Error('keep() comes before verify()');
    for (const s of slots.splice(Math.max(1, n))) void s.worker.terminate();
  };

  for (let i = 0; i < count; i++) slots.push(spawn());

  async function* verify(source: AsyncIterable<PoolInput> | Iterable<PoolInput>): AsyncGenerator<PoolResult> {
    if (used) throw new Error('a verify pool verifies one source');
    used = true;
    const input = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<PoolInput>)[Symbol.iterator]();
    let feedWake: (() => void) | null = null;
    const wakeFeed = () => {
      const w = feedWake;
      feedWake = null;
      w?.();
    };
    // Reads the source only while fewer than maxInFlight objects are taken and not yet handed on.
    const feed = async () => {
      try {
        for (;;) {
          while (waiting.length + busy + done.length >= maxInFlight && !stopped && !failure) await new Promise<void>((r) => (feedWake = r));
          if (stopped || failure) return;
          const next = await input.next();
          if (next.done) break;
          const item = next.value;
          waiting.push(typeof item === 'string' ? { id: nextId++, path: item } : { id: nextId++, path: item.path, url: item.url, headers: item.headers });
          dispatch();
        }
      } catch (err) {
        failure ??= err instanceof Error ? err : new Error(String(err));
      }
      exhausted = true;
      changed();
    };

    const feeding = feed();
    try {
      for (;;) {
        if (failure) throw failure;
        if (done.length) {
          const r = done.shift()!;
          wakeFeed();
          yield r;
          continue;
        }
        if (exhausted && busy === 0 && waiting.length === 0) return;
        await new Promise<void>((r) => {
          wake = r;
          // The feeder may be waiting for room that a finished result just made.
          wakeFeed();
        });
      }
    } finally {
      close();
      wakeFeed();
      await feeding;
      if (!exhausted) await input.return?.();
    }
  }
  return { verify, keep, close };
}
