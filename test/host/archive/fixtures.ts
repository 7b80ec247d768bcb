// Archives for the archive audit tests: sealed objects in series folders, with
// the cases an audit meets (a tampered copy, an unsigned object, a file that is
// not DICOM, an entry that cannot be read), the verdicts a plain verify gives
// them, and the results database read back.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { makeIdentities, sealTo, testFrame, type Identities } from '../dicom/fixtures.js';
import { stripSignatures, tamperPixels } from '../../services/ingest-fixtures.js';
import { verifyFiles } from '../../../host/ingest/pool/verify-pool.js';
import { looksLikeDicom, walkTree } from '../../../host/ingest/pool/dicom-files.js';

export interface ArchiveTree {
  ids: Identities;
  root: string;
  /** Relative paths of the DICOM files (items the audit verifies). */
  dicom: string[];
  /** Relative paths of entries that cannot be read (items recorded as not verified). */
  unreadable: string[];
  /** Every item the audit should record: dicom and unreadable. */
  items: number;
}

/** `n` sealed objects of size×size in `series` folders, plus one tampered, one unsigned, a text file and a dangling link. */
export async function makeArchiveTree(dir: string, n: number, series: number, size = 128): Promise<ArchiveTree> {
  const ids = await makeIdentities(join(dir, 'ids'));
  const root = join(dir, 'archive');
  for (let s = 0; s < series; s++) mkdirSync(join(root, `series-${s}`), { recursive: true });
  let first: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    const bytes = await sealTo(join(root, `series-${i % series}`, `IM${String(i).padStart(5, '0')}`), testFrame(size, size, 12, i + 1), ids.device, { frameSerial: 5000 + i });
    first ??= bytes;
  }
  mkdirSync(join(root, 'other'));
  writeFileSync(join(root, 'other', 'tampered-copy'), tamperPixels(first!, 10, 10, 8, 8));
  writeFileSync(join(root, 'other', 'unsigned'), stripSignatures(first!));
  writeFileSync(join(root, 'other', 'README.txt'), 'not an image');
  symlinkSync(join(dir, 'nowhere'), join(root, 'other', 'dangling'));
  const dicom: string[] = [];
  const unreadable: string[] = [];
  for (const e of walkTree(root)) {
    if (e.kind === 'error') unreadable.push(e.name);
    else if (e.kind === 'file' && looksLikeDicom(e.path)) dicom.push(e.name);
  }
  return { ids, root, dicom, unreadable, items: dicom.length + unreadable.length };
}

/** Verdict of each DICOM file (relative path) as one in-process verify pool decides it. */
export async function referenceVerdicts(tree: ArchiveTree): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const r of verifyFiles(tree.dicom.map((p) => join(tree.root, p)), { trust: tree.ids.trustPem, workers: 1 })) {
    out.set(relative(tree.root, r.path), r.report?.verdict ?? `error: ${r.error}`);
  }
  return out;
}

export interface StoredRows {
  audits: Array<{ id: number; status: string }>;
  items: Array<{ item_key: string; sop_instance_uid: string | null; file_sha256: string | null; error: string | null }>;
  results: Array<{ sop_instance_uid: string; file_sha256: string; verdict: string; path: string }>;
}

/** The rows of one audit in an SQLite results file (read while the writer may still run: WAL). */
export function readSqlite(path: string, auditId: number): StoredRows {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return {
      audits: db.prepare('SELECT id, status FROM audits ORDER BY id').all() as StoredRows['audits'],
      items: db.prepare('SELECT item_key, sop_instance_uid, file_sha256, error FROM audit_items WHERE audit_id = ? ORDER BY item_key').all(auditId) as StoredRows['items'],
      results: db.prepare('SELECT sop_instance_uid, file_sha256, verdict, path FROM audit_results WHERE audit_id = ? ORDER BY path').all(auditId) as StoredRows['results'],
    };
  } finally {
    db.close();
  }
}

/** Items recorded so far, and how many of them as not verified. */
export function countSqlite(path: string): { items: number; errors: number } {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const r = db.prepare('SELECT COUNT(*) AS n, COUNT(error) AS e FROM audit_items').get() as { n: number; e: number };
      return { items: r.n, errors: r.e };
    } finally {
      db.close();
    }
  } catch {
    return { items: 0, errors: 0 }; // not created yet, or its tables not yet
  }
}

export const countSqliteItems = (path: string): number => countSqlite(path).items;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, check: () => T | Promise<T>, ms = 60_000, every = 25): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}
