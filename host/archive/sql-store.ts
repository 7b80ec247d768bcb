// The results store over SQL (db.ts): the same statements for SQLite and PostgreSQL.
import { createHash } from 'node:crypto';
import { schema, type Db } from './db.js';
import { ResultsStoreError, type Audit, type AuditCounts, type AuditSettings, type ResultRow, type ResultsStore, type VerdictChange } from './store.js';
import type { Verdict } from '../ingest/verify-report.js';

const PAGE = 1000;
/** Lists in a comparison are cut here; the counts stay exact. */
export const CHANGE_LIST_LIMIT = 10_000;

interface AuditRow {
  id: number | string; source: string; status: Audit['status']; started_at: string; finished_at: string | null;
  enumerated: number | string | null; trust_pem: Uint8Array; trust_sha256: string; policy: string; revocation: string; watermark_key_id: string | null;
}

const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function toAudit(r: AuditRow): Audit {
  return {
    id: Number(r.id), source: r.source, status: r.status, startedAt: r.started_at, finishedAt: r.finished_at,
    enumerated: r.enumerated === null ? null : Number(r.enumerated), trustPem: new Uint8Array(r.trust_pem),
    policy: JSON.parse(r.policy), revocation: JSON.parse(r.revocation), watermarkKeyId: r.watermark_key_id,
  };
}

/** Why a running audit cannot be resumed with these settings, or null when it can. */
function settingsMismatch(a: Audit, s: AuditSettings): string | null {
  if (sha256(a.trustPem) !== sha256(s.trustPem)) return 'a different trust bundle';
  if (JSON.stringify(a.policy) !== JSON.stringify(s.policy)) return 'a different verify policy';
  if (JSON.stringify(a.revocation) !== JSON.stringify(s.revocation)) return 'different revocation settings';
  if (a.watermarkKeyId !== s.watermarkKeyId) return a.watermarkKeyId ? (s.watermarkKeyId ? 'a different watermark key' : 'a watermark key (--wm-key)') : 'no watermark key';
  return null;
}

export class SqlResultsStore implements ResultsStore {
  private constructor(private readonly db: Db) {}

  static async open(db: Db): Promise<SqlResultsStore> {
    try {
      await db.transaction(async (q) => {
        // Several workers may start at once against a new PostgreSQL database.
        if (db.dialect === 'postgres') await q('SELECT pg_advisory_xact_lock(7720151)');
        for (const ddl of schema(db.dialect)) await q(ddl);
      });
    } catch (err) {
      await db.close();
      throw new ResultsStoreError(`cannot set up the results tables: ${(err as Error).message}`);
    }
    return new SqlResultsStore(db);
  }

  async openAudit(s: AuditSettings, opts: { fresh?: boolean }): Promise<{ audit: Audit; resumed: boolean }> {
    return this.db.transaction(async (q) => {
      const running = (await q<AuditRow>(`SELECT * FROM audits WHERE source = $1 AND status = 'running' ORDER BY id DESC`, [s.source])).map(toAudit);
      if (running.length && !opts.fresh) {
        const a = running[0]!;
        const why = settingsMismatch(a, s);
        if (why) throw new ResultsStoreError(`audit #${a.id} of ${s.source} is not finished and was started with ${why}; run it with the same settings to resume it, or start over with --new-audit`);
        return { audit: a, resumed: true };
      }
      for (const a of running) await q(`UPDATE audits SET status = 'abandoned' WHERE id = $1`, [a.id]);
      const [row] = await q<AuditRow>(
        `INSERT INTO audits (source, status, started_at, trust_pem, trust_sha256, policy, revocation, watermark_key_id)
         VALUES ($1, 'running', $2, $3, $4, $5, $6, $7) RETURNING *`,
        [s.source, new Date().toISOString(), Buffer.from(s.trustPem), sha256(s.trustPem), JSON.stringify(s.policy), JSON.stringify(s.revocation), s.watermarkKeyId]);
      return { audit: toAudit(row!), resumed: false };
    });
  }

  async getAudit(id: number): Promise<Audit | null> {
    const [r] = await this.db.query<AuditRow>('SELECT * FROM audits WHERE id = $1', [id]);
    return r ? toAudit(r) : null;
  }

  async audits(): Promise<Audit[]> {
    return (await this.db.query<AuditRow>('SELECT * FROM audits ORDER BY id DESC')).map(toAudit);
  }

  async setEnumerated(auditId: number, n: number): Promise<void> {
    await this.db.query('UPDATE audits SET enumerated = $1 WHERE id = $2', [n, auditId]);
  }

  async finishAudit(auditId: number): Promise<void> {
    await this.db.query(`UPDATE audits SET status = 'finished', finished_at = $1 WHERE id = $2`, [new Date().toISOString(), auditId]);
  }

  async recorded(auditId: number, keys: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const marks = chunk.map((_, j) => `$${j + 2}`).join(', ');
      for (const r of await this.db.query<{ item_key: string }>(`SELECT item_key FROM audit_items WHERE audit_id = $1 AND error IS NULL AND item_key IN (${marks})`, [auditId, ...chunk])) out.add(r.item_key);
    }
    return out;
  }

  async record(auditId: number, rows: ResultRow[]): Promise<AuditCounts> {
    const added: AuditCounts = { items: 0, errors: 0, verdicts: {}, bytes: 0 };
    if (!rows.length) return added;
    const now = new Date().toISOString();
    await this.db.transaction(async (q) => {
      for (const r of rows) {
        const [before] = await q<{ error: string | null }>('SELECT error FROM audit_items WHERE audit_id = $1 AND item_key = $2', [auditId, r.itemKey]);
        if (before && before.error === null) continue; // verified before (a batch done again after its worker died)
        if (before) {
          // Not verified last time (unreadable, PACS unreachable…): this attempt replaces that.
          await q('UPDATE audit_items SET path = $3, sop_instance_uid = $4, file_sha256 = $5, error = $6 WHERE audit_id = $1 AND item_key = $2 AND error IS NOT NULL',
            [auditId, r.itemKey, r.path, r.sopInstanceUid, r.fileSha256, r.error]);
          added.errors--;
        } else {
          const item = await q(`INSERT INTO audit_items (audit_id, item_key, path, sop_instance_uid, file_sha256, error) VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (audit_id, item_key) DO NOTHING RETURNING item_key`, [auditId, r.itemKey, r.path, r.sopInstanceUid, r.fileSha256, r.error]);
          if (!item.length) continue; // another worker recorded it a moment ago
          added.items++;
        }
        if (r.error !== null || r.fileSha256 === null || r.verdict === null) {
          added.errors++;
          continue;
        }
        const obj = await q(`INSERT INTO audit_results (audit_id, sop_instance_uid, file_sha256, path, size, verdict, reasons, device, modality, study_date, series_uid, report, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (audit_id, sop_instance_uid, file_sha256) DO NOTHING RETURNING verdict`,
        [auditId, r.sopInstanceUid ?? '', r.fileSha256, r.path, r.size, r.verdict, JSON.stringify(r.reasons), r.device, r.modality, r.studyDate, r.seriesInstanceUid, r.report, now]);
        if (!obj.length) continue; // a second copy of an object already recorded
        added.verdicts[r.verdict] = (added.verdicts[r.verdict] ?? 0) + 1;
        added.bytes += r.size ?? 0;
      }
    });
    return added;
  }

  async counts(auditId: number): Promise<AuditCounts> {
    const verdicts: AuditCounts['verdicts'] = {};
    let bytes = 0;
    for (const r of await this.db.query<{ verdict: Verdict; n: unknown; b: unknown }>('SELECT verdict, COUNT(*) AS n, SUM(size) AS b FROM audit_results WHERE audit_id = $1 GROUP BY verdict', [auditId])) {
      verdicts[r.verdict] = num(r.n);
      bytes += num(r.b);
    }
    const [it] = await this.db.query<{ n: unknown; e: unknown }>('SELECT COUNT(*) AS n, SUM(CASE WHEN error IS NULL THEN 0 ELSE 1 END) AS e FROM audit_items WHERE audit_id = $1', [auditId]);
    return { items: num(it?.n), errors: num(it?.e), verdicts, bytes };
  }

  async *rows(auditId: number): AsyncIterable<ResultRow> {
    let after: [string, string] | null = null;
    for (;;) {
      const page: Record<string, unknown>[] = await this.db.query<Record<string, unknown>>(
        `SELECT * FROM audit_results WHERE audit_id = $1 ${after ? 'AND (sop_instance_uid > $2 OR (sop_instance_uid = $2 AND file_sha256 > $3))' : ''}
         ORDER BY sop_instance_uid, file_sha256 LIMIT ${PAGE}`, after ? [auditId, ...after] : [auditId]);
      for (const r of page) {
        yield {
          itemKey: '', path: String(r.path), sopInstanceUid: (r.sop_instance_uid as string) || null, fileSha256: String(r.file_sha256), size: num(r.size),
          verdict: r.verdict as Verdict, error: null, reasons: JSON.parse(String(r.reasons)) as string[], device: r.device as string | null,
          modality: r.modality as string | null, studyDate: r.study_date as string | null, seriesInstanceUid: r.series_uid as string | null, report: r.report as string | null,
        };
      }
      if (page.length < PAGE) break;
      const last: Record<string, unknown> = page[page.length - 1]!;
      after = [String(last.sop_instance_uid), String(last.file_sha256)];
    }
    let key = '';
    for (;;) {
      const page = await this.db.query<{ item_key: string; path: string; error: string }>(
        `SELECT item_key, path, error FROM audit_items WHERE audit_id = $1 AND error IS NOT NULL AND item_key > $2 ORDER BY item_key LIMIT ${PAGE}`, [auditId, key]);
      for (const r of page) {
        yield { itemKey: r.item_key, path: r.path, sopInstanceUid: null, fileSha256: null, size: null, verdict: null, error: r.error, reasons: [], device: null, modality: null, studyDate: null, seriesInstanceUid: null, report: null };
      }
      if (page.length < PAGE) break;
      key = page[page.length - 1]!.item_key;
    }
  }

  async changes(previousId: number, currentId: number): Promise<{ changed: VerdictChange[]; added: number; gone: string[]; goneCount: number }> {
    // An object changed when this audit holds a (SOP Instance UID, file, verdict) the previous one did not.
    const rows = await this.db.query<Record<string, string>>(
      `SELECT c.sop_instance_uid AS sop, p.verdict AS before, c.verdict AS after, p.file_sha256 AS bsha, c.file_sha256 AS asha, c.path AS path, c.reasons AS reasons
       FROM audit_results c JOIN audit_results p ON p.audit_id = $1 AND p.sop_instance_uid = c.sop_instance_uid
       WHERE c.audit_id = $2 AND c.sop_instance_uid <> ''
         AND NOT EXISTS (SELECT 1 FROM audit_results s WHERE s.audit_id = $1 AND s.sop_instance_uid = c.sop_instance_uid AND s.file_sha256 = c.file_sha256 AND s.verdict = c.verdict)
       ORDER BY c.sop_instance_uid LIMIT ${CHANGE_LIST_LIMIT}`, [previousId, currentId]);
    const changed = rows.map((r) => ({ sopInstanceUid: r.sop!, before: r.before as Verdict, after: r.after as Verdict, beforeSha256: r.bsha!, afterSha256: r.asha!, path: r.path!, reasons: JSON.parse(r.reasons!) as string[] }));
    const absent = (a: number, b: number) => `FROM audit_results x WHERE x.audit_id = ${a === previousId ? '$1' : '$2'} AND x.sop_instance_uid <> ''
       AND NOT EXISTS (SELECT 1 FROM audit_results y WHERE y.audit_id = ${b === previousId ? '$1' : '$2'} AND y.sop_instance_uid = x.sop_instance_uid)`;
    const [added] = await this.db.query<{ n: unknown }>(`SELECT COUNT(DISTINCT x.sop_instance_uid) AS n ${absent(currentId, previousId)}`, [previousId, currentId]);
    const [goneN] = await this.db.query<{ n: unknown }>(`SELECT COUNT(DISTINCT x.sop_instance_uid) AS n ${absent(previousId, currentId)}`, [previousId, currentId]);
    const gone = await this.db.query<{ sop: string }>(`SELECT DISTINCT x.sop_instance_uid AS sop ${absent(previousId, currentId)} ORDER BY sop LIMIT ${CHANGE_LIST_LIMIT}`, [previousId, currentId]);
    return { changed, added: num(added?.n), gone: gone.map((g) => g.sop), goneCount: num(goneN?.n) };
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
