// Where archive audit results live: an embedded SQLite file by default, or
// PostgreSQL for the distributed mode (several archive-worker machines). Both
// behind one small interface, so the audit, the workers and the report do not
// care which.
//
// Keys: one audit is one pass over a source. Within it, every item the source
// names (a file path, an Orthanc instance id, a DICOMweb SOP Instance UID) is
// recorded once in audit_items (verified, or the error that stopped it), and
// every distinct object once in audit_results, keyed by (SOP Instance UID,
// SHA-256 of the file). Writes are idempotent (insert or leave what is there),
// so a batch done twice, by a worker that died and the one that took over,
// leaves exactly one row per object.
import type { VerifyPolicy } from '../ingest/policy.js';
import type { RevocationOptions } from '../keys/pki/revocation.js';
import type { Verdict } from '../ingest/verify-report.js';

/** What an audit was run with: a resumed audit, and every worker, must use the same. */
export interface AuditSettings {
  source: string;
  trustPem: Uint8Array;
  policy: VerifyPolicy;
  revocation: RevocationOptions;
  /** SHA-256 of the site watermark key when one is required (never the key). */
  watermarkKeyId: string | null;
}

export interface Audit extends AuditSettings {
  id: number;
  startedAt: string;
  finishedAt: string | null;
  status: 'running' | 'finished' | 'abandoned';
  /** Items the source held, once enumeration has finished. */
  enumerated: number | null;
}

export interface ResultRow {
  /** The source's name for the item (relative path, Orthanc instance id, SOP Instance UID). */
  itemKey: string;
  /** Where it was read (no credentials). */
  path: string;
  /** Null when the object could not be verified (then `error` says why). */
  sopInstanceUid: string | null;
  fileSha256: string | null;
  size: number | null;
  verdict: Verdict | null;
  error: string | null;
  reasons: string[];
  device: string | null;
  modality: string | null;
  studyDate: string | null;
  seriesInstanceUid: string | null;
  /** The full verify report (JSON text). */
  report: string | null;
}

export interface AuditCounts {
  /** Items recorded (verified or not). */
  items: number;
  /** Items that could not be verified. */
  errors: number;
  /** Distinct objects by verdict. */
  verdicts: Partial<Record<Verdict, number>>;
  bytes: number;
}

export interface VerdictChange {
  sopInstanceUid: string;
  before: Verdict;
  after: Verdict;
  beforeSha256: string;
  afterSha256: string;
  path: string;
  reasons: string[];
}

export interface ResultsStore {
  /** The running audit of this source (resumed), or a new one; `fresh` abandons a running one first. */
  openAudit(settings: AuditSettings, opts: { fresh?: boolean }): Promise<{ audit: Audit; resumed: boolean }>;
  getAudit(id: number): Promise<Audit | null>;
  /** Audits of the store, newest first. */
  audits(): Promise<Audit[]>;
  setEnumerated(auditId: number, n: number): Promise<void>;
  finishAudit(auditId: number): Promise<void>;
  /** Of these item keys, the ones the audit has verified (an item recorded as not verified is tried again). */
  recorded(auditId: number, keys: string[]): Promise<Set<string>>;
  /**
   * Records rows; an item verified before, or an object already recorded, is left as it is; an item
   * recorded as not verified is replaced by the new attempt. Returns what changed in the counts.
   */
  record(auditId: number, rows: ResultRow[]): Promise<AuditCounts>;
  counts(auditId: number): Promise<AuditCounts>;
  /** Every result row of the audit (objects, then items that could not be verified), in pages. */
  rows(auditId: number): AsyncIterable<ResultRow>;
  /** Objects whose verdict or file changed between two audits (by SOP Instance UID); lists cut at 10 000, counts exact. */
  changes(previousId: number, currentId: number): Promise<{ changed: VerdictChange[]; added: number; gone: string[]; goneCount: number }>;
  close(): Promise<void>;
}

export class ResultsStoreError extends Error {
  override name = 'ResultsStoreError';
}

/** A path is an SQLite file; postgres://… (or postgresql://…) is a PostgreSQL database. */
export async function openResultsStore(spec: string): Promise<ResultsStore> {
  const { SqlResultsStore } = await import('./sql-store.js');
  if (/^postgres(ql)?:\/\//i.test(spec)) {
    const { openPostgres } = await import('./postgres.js');
    return SqlResultsStore.open(await openPostgres(spec));
  }
  const { openSqlite } = await import('./sqlite.js');
  return SqlResultsStore.open(openSqlite(spec));
}

/** A connection string fit for messages: the password is never shown. */
export function redactUrl(spec: string): string {
  try {
    const u = new URL(spec);
    if (u.password) u.password = '***';
    return u.protocol === 'file:' ? spec : u.toString();
  } catch {
    return spec;
  }
}
