// The archive audit report: what a PACS administrator hands on. index.html
// (verdicts per device, per year, per modality; every object that is not
// authentic with its reasons and a link to its full report; what changed since
// the previous audit of the same source, authentic → tampered first),
// results.csv and results.jsonl (every object and every item not verified),
// summary.json, and reports/<file SHA-256>.json for each non-authentic object
// listed (tampered first, then invalid, untrusted, unsigned; at most 5000).
import { createHash } from 'node:crypto';
import { createWriteStream, renameSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { writeFileAtomic } from '../io/atomic.js';
import type { Verdict } from '../ingest/verify-report.js';
import type { Audit, ResultRow, ResultsStore, VerdictChange } from './store.js';
import { renderArchiveHtml } from './report-html.js';
import { makeDirs } from '../io/dirs.js';

export const VERDICTS: Verdict[] = ['authentic', 'tampered', 'untrusted', 'unsigned', 'invalid'];

export type VerdictCounts = Record<Verdict, number>;

export interface ArchiveSummary {
  audit: { id: number; source: string; status: Audit['status']; startedAt: string; finishedAt: string | null; trustSha256: string; watermarkRequired: boolean };
  totals: VerdictCounts & { objects: number; notVerified: number; bytes: number };
  byDevice: Record<string, VerdictCounts>;
  byYear: Record<string, VerdictCounts>;
  byModality: Record<string, VerdictCounts>;
  /** Against the previous audit of the same source, when there is one. */
  since: null | {
    audit: { id: number; startedAt: string; finishedAt: string | null };
    /** Authentic then, not authentic now: the headline. */
    lostAuthenticity: number;
    changed: number;
    added: number;
    gone: number;
  };
}

export interface NonAuthentic {
  sopInstanceUid: string | null;
  fileSha256: string;
  verdict: Verdict;
  device: string | null;
  path: string;
  reasons: string[];
  reportFile: string;
}

/** Non-authentic verdicts, most serious first: the order of the list in the page. */
const SEVERITY: Verdict[] = ['tampered', 'invalid', 'untrusted', 'unsigned'];

/** Objects listed one by one in the HTML page, each with its report file (all are in the CSV and JSON Lines). */
export const HTML_LIST_LIMIT = 5000;

const zero = (): VerdictCounts => ({ authentic: 0, tampered: 0, untrusted: 0, unsigned: 0, invalid: 0 });
const bump = (m: Record<string, VerdictCounts>, key: string, v: Verdict) => ((m[key] ??= zero())[v]++);

/** A CSV field: quoted when needed, and never read as a formula by a spreadsheet. */
export function csvField(v: unknown): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const CSV_COLUMNS = ['sop_instance_uid', 'file_sha256', 'verdict', 'device', 'modality', 'study_date', 'size', 'path', 'not_verified', 'reasons'] as const;

function csvLine(r: ResultRow): string {
  return [r.sopInstanceUid, r.fileSha256, r.verdict, r.device, r.modality, r.studyDate, r.size, r.path, r.error, r.reasons.join(' | ')].map(csvField).join(',') + '\r\n';
}

async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

async function closeInto(stream: NodeJS.WritableStream & { close?: unknown }, tmp: string, path: string): Promise<void> {
  stream.end();
  await once(stream, 'finish');
  renameSync(tmp, path);
}

/** Which audit to report, and which to compare it with. */
async function pickAudits(store: ResultsStore, o: { auditId?: number; againstId?: number }): Promise<{ audit: Audit; previous: Audit | null }> {
  const all = await store.audits();
  const audit = o.auditId === undefined ? all[0] : all.find((a) => a.id === o.auditId);
  if (!audit) throw new Error(o.auditId === undefined ? 'the results store holds no audit yet' : `the results store holds no audit #${o.auditId}`);
  let previous: Audit | null = null;
  if (o.againstId !== undefined) {
    previous = all.find((a) => a.id === o.againstId) ?? null;
    if (!previous) throw new Error(`the results store holds no audit #${o.againstId}`);
  } else {
    previous = all.find((a) => a.id < audit.id && a.source === audit.source && a.status === 'finished') ?? null;
  }
  return { audit, previous };
}

export async function writeArchiveReport(store: ResultsStore, dir: string, o: { auditId?: number; againstId?: number } = {}): Promise<{ summary: ArchiveSummary; summaryLine: string }> {
  const { audit, previous } = await pickAudits(store, o);
  makeDirs(join(dir, 'reports'));
  const totals = { ...zero(), objects: 0, notVerified: 0, bytes: 0 };
  const byDevice: Record<string, VerdictCounts> = {};
  const byYear: Record<string, VerdictCounts> = {};
  const byModality: Record<string, VerdictCounts> = {};
  const nonAuthentic: NonAuthentic[] = [];
  const listed: Partial<Record<Verdict, Array<NonAuthentic & { report: string }>>> = {};
  const notVerified: Array<{ path: string; error: string }> = [];
  let nonAuthenticTotal = 0;

  const csvPath = join(dir, 'results.csv');
  const jsonlPath = join(dir, 'results.jsonl');
  const csv = createWriteStream(`${csvPath}.tmp`);
  const jsonl = createWriteStream(`${jsonlPath}.tmp`);
  await write(csv, CSV_COLUMNS.join(',') + '\r\n');
  for await (const r of store.rows(audit.id)) {
    await write(csv, csvLine(r));
    const { report, ...row } = r;
    await write(jsonl, JSON.stringify({ ...row, report: report ? JSON.parse(report) : null }) + '\n');
    if (r.verdict === null) {
      totals.notVerified++;
      if (notVerified.length < HTML_LIST_LIMIT) notVerified.push({ path: r.path, error: r.error ?? '' });
      continue;
    }
    totals.objects++;
    totals[r.verdict]++;
    totals.bytes += r.size ?? 0;
    bump(byDevice, r.device ?? '(unknown)', r.verdict);
    bump(byYear, /^\d{4}/.exec(r.studyDate ?? '')?.[0] ?? '(no study date)', r.verdict);
    bump(byModality, r.modality ?? '(none)', r.verdict);
    if (r.verdict !== 'authentic') {
      nonAuthenticTotal++;
      const bucket = (listed[r.verdict] ??= []);
      if (bucket.length < HTML_LIST_LIMIT) bucket.push({ sopInstanceUid: r.sopInstanceUid, fileSha256: r.fileSha256!, verdict: r.verdict, device: r.device, path: r.path, reasons: r.reasons, reportFile: `reports/${r.fileSha256}.json`, report: r.report ?? '{}' });
    }
  }
  // Listed most serious first; an archive from before sealing may hold millions of unsigned objects.
  for (const v of SEVERITY) {
    for (const { report, ...o } of listed[v] ?? []) {
      if (nonAuthentic.length >= HTML_LIST_LIMIT) break;
      writeFileAtomic(join(dir, o.reportFile), Buffer.from(report));
      nonAuthentic.push(o);
    }
  }
  await closeInto(csv, `${csvPath}.tmp`, csvPath);
  await closeInto(jsonl, `${jsonlPath}.tmp`, jsonlPath);

  let changes: { changed: VerdictChange[]; added: number; gone: string[]; goneCount: number } | null = null;
  if (previous) changes = await store.changes(previous.id, audit.id);
  const lost = changes ? changes.changed.filter((c) => c.before === 'authentic' && c.after !== 'authentic') : [];
  const summary: ArchiveSummary = {
    audit: { id: audit.id, source: audit.source, status: audit.status, startedAt: audit.startedAt, finishedAt: audit.finishedAt, trustSha256: sha256Hex(audit.trustPem), watermarkRequired: audit.watermarkKeyId !== null },
    totals, byDevice, byYear, byModality,
    since: previous && changes ? { audit: { id: previous.id, startedAt: previous.startedAt, finishedAt: previous.finishedAt }, lostAuthenticity: lost.length, changed: changes.changed.length, added: changes.added, gone: changes.goneCount } : null,
  };
  writeFileAtomic(join(dir, 'summary.json'), Buffer.from(JSON.stringify(summary, null, 2) + '\n'));
  writeFileAtomic(join(dir, 'index.html'), Buffer.from(renderArchiveHtml({ summary, nonAuthentic, nonAuthenticTotal, notVerified, changes, lost })));
  const parts = VERDICTS.map((v) => `${v} ${totals[v]}`).join(', ');
  const sinceLine = summary.since ? `; since audit #${summary.since.audit.id}: ${summary.since.lostAuthenticity} no longer authentic, ${summary.since.changed} changed, ${summary.since.added} new, ${summary.since.gone} gone` : '';
  return { summary, summaryLine: `audit #${audit.id} (${audit.status}): ${totals.objects} objects (${parts}), ${totals.notVerified} not verified${sinceLine} → ${join(dir, 'index.html')}` };
}

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
