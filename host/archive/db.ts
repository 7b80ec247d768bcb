// The little SQL the results store needs, over SQLite or PostgreSQL: one
// query text ($1, $2… placeholders), one schema, the dialect's column types.
export interface Query {
  <T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Db {
  readonly dialect: 'sqlite' | 'postgres';
  query: Query;
  /** Runs fn in one transaction (committed when it resolves, rolled back when it throws). */
  transaction<R>(fn: (query: Query) => Promise<R>): Promise<R>;
  close(): Promise<void>;
}

export function schema(dialect: Db['dialect']): string[] {
  const id = dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY';
  const blob = dialect === 'sqlite' ? 'BLOB' : 'BYTEA';
  return [
    `CREATE TABLE IF NOT EXISTS audits (
      id ${id}, source TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
      enumerated BIGINT, trust_pem ${blob} NOT NULL, trust_sha256 TEXT NOT NULL, policy TEXT NOT NULL,
      revocation TEXT NOT NULL, watermark_key_id TEXT)`,
    `CREATE TABLE IF NOT EXISTS audit_items (
      audit_id BIGINT NOT NULL, item_key TEXT NOT NULL, path TEXT NOT NULL, sop_instance_uid TEXT,
      file_sha256 TEXT, error TEXT, PRIMARY KEY (audit_id, item_key))`,
    // sop_instance_uid is '' for an object with none readable (it is still one object per file hash).
    `CREATE TABLE IF NOT EXISTS audit_results (
      audit_id BIGINT NOT NULL, sop_instance_uid TEXT NOT NULL, file_sha256 TEXT NOT NULL, path TEXT NOT NULL,
      size BIGINT NOT NULL, verdict TEXT NOT NULL, reasons TEXT NOT NULL, device TEXT, modality TEXT,
      study_date TEXT, series_uid TEXT, report TEXT, recorded_at TEXT NOT NULL,
      PRIMARY KEY (audit_id, sop_instance_uid, file_sha256))`,
  ];
}
