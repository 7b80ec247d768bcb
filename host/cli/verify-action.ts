// What `radseal verify` does when it runs (verify.ts holds its options, loaded at start-up):
// one object verified here, several or whole folders on the verify pool's worker threads. Built,
// this module and what it imports statically are one file (dist/host/cli/verify-action.bundle.js,
// scripts/bundle-cli.mjs), so a verify of one object reads and compiles a few files, not twenty.
import { availableParallelism } from 'node:os';
import type { VerifyReport, Verdict } from '../ingest/verify-report.js';
import type { VerifyCliOptions } from './verify.js';
import { readFileSync, statSync } from 'node:fs';
import { verifySettings } from './verify-settings.js';
import { formatReport } from './format.js';
import { looksLikeDicom, walkTree } from '../ingest/pool/dicom-files.js';

/** What to verify: the files named, and the DICOM files found below the folders named. */
export interface VerifyTargets {
  files: string[];
  /** Files in the named folders without "DICM" at byte 128, and things that are not regular files: left out. */
  skipped: number;
  /** Whether a folder was named (then a summary is printed even for one file). */
  folders: boolean;
  /** Entries that could not be listed or read while looking: each is reported as invalid. */
  unreadable: Array<{ path: string; code: string }>;
}

const VERDICTS: Verdict[] = ['authentic', 'tampered', 'untrusted', 'unsigned', 'invalid'];

export async function verifyAction(paths: string[], o: VerifyCliOptions): Promise<void> {
  // One path that is not a folder: most likely one file, verified in this thread; the verifier
  // loads while the settings are read. (Reading the file on the thread pool meanwhile was measured
  // slower: 0.26 against 0.18 s CPU per verify.)
  const folders = anyFolder(paths);
  const verifying = paths.length === 1 && !folders ? import('../ingest/verify.js') : undefined;
  // Awaited below; should this throw first (nothing to verify), their failure is not a second error.
  void verifying?.catch(() => undefined);
  const settings = verifySettings(o);
  // Several paths or a folder: the workers start now and load their modules on the other cores
  // while this thread walks the folders (and say so if the walk finds one file after all).
  const workers = folders ? o.workers : Math.min(o.workers ?? availableParallelism(), paths.length);
  const pool = o.workers !== 0 && (paths.length > 1 || folders)
    ? (await import('../ingest/pool/verify-pool.js')).startVerifyPool({ trust: o.trust, revocation: settings.trust.revocation, policy: settings.policy, watermarkKey: settings.watermarkKey, workers, describe: false, fullPixelCheck: o.fullPixelCheck })
    : undefined;
  let targets: VerifyTargets;
  try {
    targets = findTargets(paths);
  } catch (err) {
    pool?.close();
    throw err;
  }
  pool?.keep(targets.files.length);
  const total = targets.files.length + targets.unreadable.length;
  if (total === 0) {
    pool?.close();
    throw new Error(`no DICOM file found in ${paths.join(', ')}${targets.skipped ? ` (${targets.skipped} other file(s) left out)` : ''}`);
  }
  const batch = total > 1 || targets.folders;
  const out = new Output(o.json ? (r) => JSON.stringify(r) : formatReport);
  const progress = batch && o.progress && process.stderr.isTTY ? new ProgressLine(total) : null;
  const counts = new Map<Verdict, number>(VERDICTS.map((v) => [v, 0]));
  let errors = 0;
  const started = performance.now();
  let bytesDone = 0;
  const audit = o.auditSyslog ? await (await import('../audit/service-audit.js')).startCommandAudit(o, 'radseal verify') : null;
  const take = (index: number, report: VerifyReport, bytes: number, error: boolean) => {
    if (!error) audit?.accessed(report.file, report.verdict);
    counts.set(report.verdict, counts.get(report.verdict)! + 1);
    if (error) errors++;
    bytesDone += bytes;
    progress?.clear();
    out.put(index, report);
    progress?.update(counts, bytesDone, performance.now() - started);
  };

  // Entries that could not even be listed come first, in their own order.
  targets.unreadable.forEach((u, i) => take(i, unreadableReport(u.path, `cannot read ${u.path}: ${u.code}`), 0, true));
  const base = targets.unreadable.length;
  if (!pool) {
    // One file (or --workers 0): no thread to start, the file is read once, here.
    const { verifyObject } = await (verifying ?? import('../ingest/verify.js'));
    targets.files.forEach((file, i) => {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(file);
      } catch (err) {
        take(base + i, unreadableReport(file, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`), 0, true);
        return;
      }
      take(base + i, verifyObject(file, bytes, settings.trust, { policy: settings.policy, watermarkKey: settings.watermarkKey, fullPixelCheck: o.fullPixelCheck }), bytes.byteLength, false);
    });
  } else {
    const indexOf = indexer(targets.files);
    for await (const r of pool.verify(targets.files)) {
      if (r.report) take(base + indexOf(r.path), r.report, r.size, false);
      else take(base + indexOf(r.path), unreadableReport(r.path, r.error), 0, true);
    }
  }
  progress?.clear();
  await audit?.stop();
  if (batch) process.stderr.write(summaryLine(counts, errors, targets.skipped, bytesDone, performance.now() - started) + '\n');
  process.exitCode = errors ? 2 : counts.get('authentic') === total ? 0 : 1;
}

/** Whether a path names a folder (one that cannot be looked at is not one: its own report says why). */
function anyFolder(paths: string[]): boolean {
  return paths.some((p) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  });
}

/** The files named, and the DICOM files found below the folders named (sorted, hidden names left out). */
export function findTargets(paths: string[]): VerifyTargets {
  const t: VerifyTargets = { files: [], skipped: 0, folders: false, unreadable: [] };
  for (const p of paths) {
    let isFolder = false;
    try {
      isFolder = statSync(p).isDirectory();
    } catch {
      // A file that is not there, or cannot be looked at: the verifier says so in its own line.
    }
    if (!isFolder) {
      t.files.push(p); // named explicitly: verified whatever it holds, so nothing asked for goes unanswered
      continue;
    }
    t.folders = true;
    for (const e of walkTree(p)) {
      if (e.kind === 'error') t.unreadable.push({ path: e.path, code: e.error.code ?? e.error.message });
      else if (e.kind === 'special') t.skipped++;
      else {
        let dicom: boolean;
        try {
          dicom = looksLikeDicom(e.path);
        } catch (err) {
          t.unreadable.push({ path: e.path, code: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
          continue;
        }
        if (dicom) t.files.push(e.path);
        else t.skipped++;
      }
    }
  }
  return t;
}

/** Index of each result by its path; a path named twice is answered twice, in turn. */
function indexer(files: string[]): (path: string) => number {
  const slots = new Map<string, number[]>();
  files.forEach((f, i) => (slots.get(f) ?? slots.set(f, []).get(f)!).push(i));
  return (path) => {
    const i = slots.get(path)?.shift();
    if (i === undefined) throw new Error(`verify pool answered for ${path}, which was not asked`);
    return i;
  };
}

/** A file that could not be read: one invalid report, like any other, so the batch goes on. */
export function unreadableReport(file: string, error: string): VerifyReport & { error: string } {
  return {
    file, verdict: 'invalid', reasons: [error], error,
    signatures: [], capture: null, technologist: null, sopClassUid: null, sopInstanceUid: null,
  };
}

/** Writes reports in input order as soon as every earlier one is out (only reports wait, never file bytes). */
class Output {
  private next = 0;
  private readonly waiting = new Map<number, VerifyReport>();
  constructor(private readonly format: (r: VerifyReport) => string) {}

  put(index: number, report: VerifyReport): void {
    this.waiting.set(index, report);
    for (let r = this.waiting.get(this.next); r; r = this.waiting.get(this.next)) {
      this.waiting.delete(this.next++);
      process.stdout.write(this.format(r) + '\n');
    }
  }
}

const mb = (bytes: number) => bytes / 1e6;
const duration = (ms: number) => {
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};
const verdictCounts = (counts: Map<Verdict, number>) => VERDICTS.filter((v) => counts.get(v)).map((v) => `${counts.get(v)} ${v}`).join(', ') || 'none yet';

/** One line on a terminal, rewritten at most ten times a second. */
class ProgressLine {
  private shown = false;
  private last = 0;
  private done = 0;
  constructor(private readonly total: number) {}

  update(counts: Map<Verdict, number>, bytes: number, elapsedMs: number): void {
    this.done++;
    const now = performance.now();
    if (this.done < this.total && now - this.last < 100) return;
    this.last = now;
    const rate = elapsedMs > 0 ? mb(bytes) / (elapsedMs / 1000) : 0;
    const eta = this.done ? duration((elapsedMs / this.done) * (this.total - this.done)) : '?';
    const line = `${this.done}/${this.total} files · ${rate.toFixed(0)} MB/s · ETA ${eta} · ${verdictCounts(counts)}`;
    process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns || 80) - 1)}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

export function summaryLine(counts: Map<Verdict, number>, errors: number, skipped: number, bytes: number, ms: number): string {
  const files = [...counts.values()].reduce((a, b) => a + b, 0);
  const rate = ms > 0 ? (mb(bytes) / (ms / 1000)).toFixed(0) : '0';
  return `verified ${files} file(s), ${mb(bytes).toFixed(1)} MB in ${(ms / 1000).toFixed(1)} s (${rate} MB/s): ${verdictCounts(counts)}` +
    `${errors ? `; ${errors} could not be read` : ''}${skipped ? `; ${skipped} non-DICOM file(s) left out` : ''}`;
}
