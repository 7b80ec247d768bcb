// Folder mode as a new user meets it: DCMTK storescp writes "DX.<uid>" files (no .dcm) and,
// sorting by study, sub-folders; the watcher reads DICOM by content, recurses, leaves files
// that are still being written for a later pass, logs what it skips (once), and moves a file
// it cannot ingest to .failed/ so that neither it nor its next run trips over it again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { watchFolder, FAILED_FOLDER } from '../../../host/ingest/gateway/watch.js';
import { Ingestor } from '../../../host/ingest/gateway/ingest.js';
import type { AuditRecord } from '../../../host/ingest/audit.js';
import { tempDir } from '../dicom/fixtures.js';
import { makeObjects, testIngestor } from '../../services/ingest-fixtures.js';
import { freePort, startStoreScp } from '../net/storescp.js';

const readAudit = (p: string): AuditRecord[] => readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRecord);
const until = async (ok: () => boolean, ms = 15000) => {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return ok();
};

test('watch: storescp drops (no extension, study sub-folders) are ingested by content; other files are logged once and left', async (t) => {
  const dir = tempDir(t, 'radseal-watch-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const { ingestor, auditPath } = testIngestor(t, dir, objs, 'reject');
  const drop = join(dir, 'drop');
  mkdirSync(drop);
  const logs: string[] = [];
  const w = watchFolder(drop, ingestor, (m) => logs.push(m), undefined, { settleMs: 300, pollMs: 200 });
  t.after(() => w.close());

  // storescp sorting by study (-ss ST): drop/ST_<date>_<time>/DX.<SOP Instance UID>
  const scp = await startStoreScp(drop, await freePort(), 'DROP', ['-ss', 'ST'], false);
  t.after(() => scp.stop());
  for (const [i, s] of objs.sealed.entries()) {
    const f = join(dir, `s${i}.dcm`);
    writeFileSync(f, s);
    await new Promise<void>((res, rej) => execFile('storescu', ['-aec', 'DROP', '127.0.0.1', String(scp.port), f], (e) => (e ? rej(e) : res())));
  }
  writeFileSync(join(drop, 'README.txt'), 'not an image');
  assert.ok(await until(() => existsSync(auditPath) && readAudit(auditPath).length === 2), `both ingested: ${logs.join('\n')}`);
  const recs = readAudit(auditPath);
  assert.deepEqual(recs.map((r) => [r.verdict, r.source.via]), [['authentic', 'watch'], ['authentic', 'watch']]);
  assert.match(logs.join('\n'), /ST_[\w.]+\/DX\.[\d.]+: authentic → stored/);
  await until(() => logs.some((l) => l.startsWith('not DICOM: README.txt')));
  await new Promise((r) => setTimeout(r, 600)); // more passes: still said once
  assert.equal(logs.filter((l) => l.startsWith('not DICOM: README.txt')).length, 1, logs.join('\n'));
  assert.ok(existsSync(join(drop, 'README.txt')), 'left in place');
});

test('watch: a file modified within the settle time waits for a later pass', async (t) => {
  const dir = tempDir(t, 'radseal-watch-settle-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const { ingestor } = testIngestor(t, dir, objs, 'reject');
  const drop = join(dir, 'drop');
  const w = watchFolder(drop, ingestor, () => {}, undefined, { settleMs: 5000, pollMs: 60000 });
  t.after(() => w.close());
  const fresh = join(drop, 'fresh');
  writeFileSync(fresh, objs.sealed[0]!);
  await w.scan();
  assert.ok(existsSync(fresh), 'still being written, perhaps: not taken yet');
  const old = (Date.now() - 10000) / 1000;
  utimesSync(fresh, old, old);
  await w.scan();
  assert.equal(existsSync(fresh), false, 'settled: taken');
});

test('watch: a file that cannot be ingested goes to .failed/ with a log line; a restarted watcher leaves it there', async (t) => {
  const dir = tempDir(t, 'radseal-watch-fail-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const base = testIngestor(t, dir, objs, 'reject');
  base.ingestor.o.audit.close(); // an audit log that cannot be written: nothing may be ingested unaudited
  const drop = join(dir, 'drop');
  mkdirSync(join(drop, 'sub'), { recursive: true });
  writeFileSync(join(drop, 'sub', 'x'), objs.sealed[0]!);
  const logs: string[] = [];
  const w = watchFolder(drop, base.ingestor, (m) => logs.push(m), undefined, { settleMs: 0, pollMs: 60000 });
  await w.scan();
  await w.close();
  assert.match(logs.join('\n'), /sub\/x: could not be ingested \(audit log is closed\); moved to .*\.failed\/sub_x/);
  assert.deepEqual(readdirSync(join(drop, FAILED_FOLDER)), ['sub_x']);
  assert.deepEqual(readdirSync(join(drop, 'sub')), []);
  const again: string[] = [];
  const w2 = watchFolder(drop, new Ingestor({ ...base.ingestor.o }), (m) => again.push(m), undefined, { settleMs: 0, pollMs: 60000 });
  await w2.scan();
  await w2.close();
  assert.deepEqual(again, [], 'the restarted watcher does not touch .failed/');
  assert.deepEqual(readdirSync(join(drop, FAILED_FOLDER)), ['sub_x']);
});

test('watch: a file over --max-object-bytes is not read: audited as refused unverified, moved to .failed/', async (t) => {
  const dir = tempDir(t, 'radseal-watch-big-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const { ingestor, auditPath } = testIngestor(t, dir, objs, 'reject');
  const drop = join(dir, 'drop');
  mkdirSync(drop);
  writeFileSync(join(drop, 'big'), objs.sealed[0]!);
  const logs: string[] = [];
  const w = watchFolder(drop, ingestor, (m) => logs.push(m), undefined, { settleMs: 0, pollMs: 60000, maxObjectBytes: 10000 });
  await w.scan();
  await w.close();
  assert.deepEqual(readdirSync(join(drop, FAILED_FOLDER)), ['big']);
  const [rec] = readAudit(auditPath);
  assert.deepEqual([rec!.verdict, rec!.action, rec!.source.via, rec!.fileSha256], ['unverified', 'rejected', 'watch', null]);
  assert.match(rec!.reasons[0]!, /larger than 10000 bytes/);
  assert.match(logs.join('\n'), /big: refused unverified: .* moved to /);
});
