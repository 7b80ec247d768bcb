// Real Redis and PostgreSQL (Debian's) for the distributed audit tests, on
// loopback, in temp folders, stopped when the test file ends. PostgreSQL's
// initdb refuses root: the cluster belongs to the postgres user.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import pg from 'pg';
import { until } from './fixtures.js';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function stopAfter(proc: ChildProcess, name: string): void {
  after(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  });
  proc.on('error', (err) => { throw new Error(`${name}: ${err.message}`); });
}

export async function startRedis(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-redis-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const proc = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  stopAfter(proc, 'redis-server');
  const url = `redis://127.0.0.1:${port}`;
  await until('redis-server', () => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG', 15_000, 100);
  return url;
}

/** A fresh PostgreSQL cluster; its URL (user postgres, trust authentication on loopback only). */
export async function startPostgres(): Promise<string> {
  if (!existsSync(join(PG_BIN, 'initdb'))) throw new Error(`PostgreSQL 15 is not installed (${PG_BIN}); test/run.sh installs it`);
  const dir = mkdtempSync(join(tmpdir(), 'radseal-pg-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const asRoot = userInfo().uid === 0;
  // initdb and postgres refuse to run as root: the cluster belongs to the postgres user.
  const as = (cmd: string, args: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]) as [string, string[]];
  if (asRoot) {
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (pw.status !== 0) throw new Error('no postgres user to run PostgreSQL as (Debian package postgresql creates it)');
    chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
  }
  const data = join(dir, 'data');
  const init = spawnSync(...as(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']), { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const [cmd, args] = as(join(PG_BIN, 'postgres'), ['-D', data, '-k', dir, '-h', '127.0.0.1', '-p', String(port), '-c', 'fsync=off', '-c', 'max_connections=50']);
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d) => (log += d));
  stopAfter(proc, 'postgres');
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await until(`postgres (${log})`, async () => {
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.end();
      return true;
    } catch {
      return false;
    }
  }, 30_000, 200);
  return url;
}
