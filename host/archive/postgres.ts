// The shared results store for the distributed mode: PostgreSQL (pg), written
// by the producer and every archive-worker at once.
import pg from 'pg';
import type { Db, Query } from './db.js';
import { ResultsStoreError, redactUrl } from './store.js';

export async function openPostgres(url: string): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => {}); // an idle client's error surfaces on its next query
  try {
    (await pool.connect()).release();
  } catch (err) {
    await pool.end();
    throw new ResultsStoreError(`cannot connect to ${redactUrl(url)}: ${(err as Error).message}`);
  }
  const on = (c: pg.Pool | pg.PoolClient): Query => async <T>(sql: string, params: unknown[] = []) => (await c.query(sql, params)).rows as T[];
  return {
    dialect: 'postgres',
    query: on(pool),
    async transaction<R>(fn: (q: Query) => Promise<R>): Promise<R> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const r = await fn(on(client));
        await client.query('COMMIT');
        return r;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
