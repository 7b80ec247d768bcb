// Runs one mutated DICOM input through the verifier and judges the verdict:
// it must return (never throw), a changing mutation must never be authentic
// (unless pydicom reads the same data set and the change is not structural),
// and a neutral one should be authentic.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertInfo } from '../../host/keys/certs.js';
import { mutate, operatorLabel, type Mutation, type MutationBase } from './dicom-mutator.js';
import { PydicomOracle } from './pydicom-oracle.js';
import { verifyObject } from './verifier.js';
import { blurNumbers, classKey, countClass, countInput, type Example, type FuzzStats } from './stats.js';

export interface DicomBase extends MutationBase {
  watermarkKey?: Uint8Array;
}

export interface DicomContext {
  seed: number;
  bases: DicomBase[];
  trust: CertInfo[];
  pydicom: PydicomOracle;
  outDir: string;
  /** Called just before and after the verifier runs (the hang watchdog's clock). */
  onVerify?: (index: number, running: boolean) => void;
}

export const INTERNAL_ERROR = /internal error/i;

/** Saves the input and what was found about it; returns the path relative to the output folder. */
export function saveInput(outDir: string, folder: string, m: Mutation, record: object): string {
  const rel = join(folder, `${m.seed}-${m.index}.dcm`);
  mkdirSync(join(outDir, folder), { recursive: true });
  writeFileSync(join(outDir, rel), m.bytes);
  writeFileSync(join(outDir, folder, `${m.seed}-${m.index}.json`), JSON.stringify({ seed: m.seed, index: m.index, base: m.base, operators: m.operators, details: m.details, kind: m.kind, structural: m.structural, ...record }, null, 1));
  return rel;
}

const example = (m: Mutation, verdict: string, detail: string): Example => ({ seed: m.seed, index: m.index, operators: operatorLabel(m), verdict, detail });

export async function runDicomInput(ctx: DicomContext, index: number, stats: FuzzStats): Promise<void> {
  const m = mutate(ctx.bases, ctx.seed, index);
  const base = ctx.bases.find((b) => b.name === m.base)!;
  const last = m.details[m.details.length - 1] ?? '';
  let verdict: string;
  let reasons: string[] = [];
  const t0 = performance.now();
  ctx.onVerify?.(index, true);
  try {
    const report = verifyObject(`fuzz-${index}.dcm`, m.bytes, ctx.trust, base.watermarkKey ? { watermarkKey: base.watermarkKey } : {});
    verdict = String(report.verdict);
    reasons = report.reasons;
  } catch (err) {
    ctx.onVerify?.(index, false);
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    stats.escapes++;
    countInput(stats, m.operators, 'escape', performance.now() - t0, index);
    const file = saveInput(ctx.outDir, 'escapes', m, { error: message, stack: err instanceof Error ? err.stack : undefined });
    countClass(stats.classes.escape, `${operatorLabel(m)}: ${blurNumbers(message)}`, { ...example(m, 'escape', `${last} -> ${message}`), file });
    return;
  }
  ctx.onVerify?.(index, false);
  const ms = performance.now() - t0;
  countInput(stats, m.operators, verdict, ms, index);
  const internal = reasons.find((r) => INTERNAL_ERROR.test(r));
  if (internal) {
    stats.internalErrors++;
    const file = saveInput(ctx.outDir, 'internal-errors', m, { verdict, reasons });
    countClass(stats.classes.internal, `${operatorLabel(m)}: ${blurNumbers(internal)}`, { ...example(m, verdict, `${last} -> ${internal}`), file });
  }
  if (m.kind === 'neutral') {
    if (verdict !== 'authentic') {
      stats.genuineNonAuthentic++;
      const key = `${operatorLabel(m)} -> ${verdict}: ${classKey(reasons[0] ?? '(no reason)')}`;
      const first = countClass(stats.classes.genuine, key, example(m, verdict, `${last} -> ${reasons[0] ?? ''}`));
      if (first) stats.classes.genuine[key]!.example.file = saveInput(ctx.outDir, 'genuine-non-authentic', m, { verdict, reasons });
    }
    return;
  }
  if (verdict !== 'authentic') return;
  if (!m.structural && (await ctx.pydicom.sameDataSet(base.name, base.bytes, m.bytes))) {
    stats.excusedByPydicom++;
    countClass(stats.classes.excused, `${m.operators[m.operators.length - 1]}: ${classKey(last)}`, example(m, verdict, last));
    return;
  }
  stats.failures++;
  const file = saveInput(ctx.outDir, 'failures', m, { verdict, reasons, pydicom: m.structural ? 'not asked (structural change)' : 'data sets differ' });
  countClass(stats.classes.failure, `${m.operators[m.operators.length - 1]}: ${classKey(last)}`, { ...example(m, verdict, last), file });
}
