// The embedded results store: one SQLite file (better-sqlite3), written by one process.
import Database from 'better-sqlite3';
import type { Db, Query } from './db.js';
import { ResultsStoreError } from './store.js';

export function openSqlite(path: string): Db {
  let db: Database.Database;
  try {
    db = new Database(path);
    // WAL: a crash loses at most the transaction under way, and readers (a report) do not block the audit.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 10000');
  } catch (err) {
    throw new ResultsStoreError(`cannot open results database ${path}: ${(err as Error).message}`);
  }
  const named = (sql: string) => sql.replace(/\$(\d+)/g, '@p$1');
  const bind = (params: unknown[]) => Object.fromEntries(params.map((v, i) => [`p${i + 1}`, v === undefined ? null : v]));
  const query: Query = async <T>(sql: string, params: unknown[] = []) => {
    const st = db.prepare(named(sql));
    return (st.reader ? st.all(bind(params)) : (st.run(bind(params)), [])) as T[];
  };
  // One connection: transactions are queued so that two callers never interleave inside one.
  let chain: Promise<unknown> = Promise.resolve();
  return {
    dialect: 'sqlite',
    query,
    transaction<R>(fn: (q: Query) => Promise<R>): Promise<R> {
      const run = chain.then(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const r = await fn(query);
          db.exec('COMMIT');
          return r;
        } catch (err) {
          db.exec('ROLLBACK');
          throw err;
        }
      });
      chain = run.catch(() => {});
      return run;
    },
    async close() {
      await chain;
      db.close();
    },
  };
}
