// The distributed audit on real Redis (BullMQ) and PostgreSQL: three archive-worker processes,
// one killed with SIGKILL in the middle of a batch. Its batch goes back to the queue and another
// worker does it; every object has exactly one result row, and the verdicts are those of a
// single-process verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import { radseal, startRadseal, tempDir, type RunningCli } from '../support/run.js';
import { makeArchiveTree, referenceVerdicts, until } from './fixtures.js';
import { startPostgres, startRedis } from './services.js';

test('archive-audit --queue: three workers, one SIGKILLed mid-batch: one row per object, verdicts as one process', async () => {
  const dir = tempDir('radseal-archive-dist-');
  const [tree, redis, postgres] = await Promise.all([makeArchiveTree(dir, 60, 6), startRedis(), startPostgres()]);
  const reference = await referenceVerdicts(tree);

  const workers: RunningCli[] = [0, 1, 2].map(() => startRadseal(['archive-worker', '--queue', redis, '--results', postgres, '--workers', '1', '--stall-seconds', '2']));
  await until('workers ready', () => workers.every((w) => /working batches/.test(w.output())), 30_000);
  const producer = startRadseal(['archive-audit', tree.root, '--trust', tree.ids.trustPem, '--results', postgres, '--queue', redis, '--batch', '4', '--json']);

  // The first worker dies as soon as it has started a batch.
  const victim = workers[0]!;
  const started = await until('a batch on worker 0', () => /batch (\S+): started/.exec(victim.output())?.[1], 60_000, 5);
  victim.proc.kill('SIGKILL');
  await victim.done;
  assert.doesNotMatch(victim.output(), new RegExp(`batch ${started}: done`), 'killed before it finished its batch');

  const done = await producer.done;
  assert.equal(done.code, 0, done.out);
  const summary = done.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((e) => e.event === 'summary');
  assert.equal(summary.state, 'finished');
  const others = workers[1]!.output() + workers[2]!.output();
  assert.match(others, new RegExp(`batch ${started}: started`), 'the dead worker\'s batch was taken up again');
  assert.match(others, new RegExp(`batch ${started}: done`));

  const c = new pg.Client({ connectionString: postgres });
  await c.connect();
  try {
    const items = (await c.query('SELECT item_key, error FROM audit_items WHERE audit_id = 1 ORDER BY item_key')).rows;
    assert.deepEqual(items.map((i) => i.item_key), [...tree.dicom, ...tree.unreadable].sort(), 'every item exactly once');
    const results = (await c.query('SELECT sop_instance_uid, file_sha256, verdict, path FROM audit_results WHERE audit_id = 1')).rows;
    assert.equal(results.length, tree.dicom.length, 'one row per object');
    assert.equal(new Set(results.map((r) => `${r.sop_instance_uid}/${r.file_sha256}`)).size, results.length);
    for (const r of results) assert.equal(r.verdict, reference.get(r.path.slice(tree.root.length + 1)), r.path);
    assert.equal((await c.query(`SELECT status FROM audits WHERE id = 1`)).rows[0].status, 'finished');
  } finally {
    await c.end();
  }
  for (const w of workers.slice(1)) w.proc.kill('SIGTERM');
  await Promise.all(workers.slice(1).map((w) => w.done));

  // The report reads PostgreSQL as it reads SQLite.
  const rep = radseal('archive-report', '--results', postgres, '--out', join(dir, 'report'));
  assert.equal(rep.code, 0, rep.stderr);
  assert.match(rep.stdout, new RegExp(`audit #1 \\(finished\\): ${tree.dicom.length} objects \\(authentic ${tree.dicom.length - 2}, tampered 1, untrusted 0, unsigned 1, invalid 0\\), 1 not verified`));
});
