// The audit log's hash chain: intact logs verify; an edit, a deletion, a
// reordering, a torn last line, a truncation of whole records and a rewrite
// of the chain behind an anchor are each caught, naming the first broken record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { AuditLog, AuditLogError, verifyAuditLog, GENESIS, type AuditEntry } from '../../../host/ingest/audit.js';
import { tempDir } from '../dicom/fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const entry = (i: number): AuditEntry => ({
  source: { via: 'c-store', ae: 'MOD', host: '127.0.0.1' }, sopInstanceUid: `2.25.${i}`, sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
  fileSha256: 'ab'.repeat(32), bytes: 1000 + i, verdict: i % 2 ? 'tampered' : 'authentic', reasons: [], signers: [], device: 'DX-1', technologist: null,
  watermark: null, tamperedTiles: null, action: i % 2 ? 'rejected' : 'stored', location: null, policy: 'reject',
});

function makeLog(dir: string, n = 5): string {
  const p = join(dir, `audit-${Math.random().toString(36).slice(2)}.jsonl`);
  const log = new AuditLog(p);
  for (let i = 1; i <= n; i++) log.append(entry(i));
  log.close();
  return p;
}
const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');
const lines = (p: string) => readFileSync(p, 'utf8').slice(0, -1).split('\n');
const put = (p: string, ls: string[]) => writeFileSync(p, ls.map((l) => l + '\n').join(''));

test('an intact log verifies; records carry seq, time and the previous line hash; reopening continues the chain', (t) => {
  const dir = tempDir(t, 'radseal-audit-');
  const p = makeLog(dir, 3);
  const recs = lines(p).map((l) => JSON.parse(l));
  assert.deepEqual(recs.map((r) => r.seq), [1, 2, 3]);
  assert.equal(recs[0].prev, GENESIS);
  assert.match(recs[0].time, /^\d{4}-\d\d-\d\dT/);
  const log = new AuditLog(p);
  assert.equal(log.append(entry(4)).seq, 4);
  log.close();
  const r = verifyAuditLog(p);
  assert.equal(r.ok, true);
  assert.equal(r.records, 4);
  assert.equal(r.headFileChecked, true);
  assert.equal(existsSync(`${p}.lock`), false, 'lock released');
});

test('one writer per log: a second AuditLog on the same file is refused while the first is open', (t) => {
  const dir = tempDir(t, 'radseal-audit-');
  const p = join(dir, 'a.jsonl');
  const a = new AuditLog(p);
  assert.throws(() => new AuditLog(p), AuditLogError);
  a.close();
  new AuditLog(p).close();
});

test('edit, deletion, reordering, torn line, truncation and a rewritten chain each name the first broken record', (t) => {
  const dir = tempDir(t, 'radseal-audit-');
  // Edit of record 2.
  let p = makeLog(dir);
  let ls = lines(p);
  ls[1] = ls[1]!.replace('"bytes":1002', '"bytes":1003');
  put(p, ls);
  assert.deepEqual(verifyAuditLog(p).firstBroken?.line, 2);
  assert.match(verifyAuditLog(p).firstBroken!.problem, /record 2 was changed/);
  // Edit of record 3's prev field.
  p = makeLog(dir);
  ls = lines(p);
  ls[2] = ls[2]!.replace(/"prev":"[0-9a-f]{4}/, '"prev":"0000');
  put(p, ls);
  assert.equal(verifyAuditLog(p).firstBroken?.line, 3);
  // Edit of the last record: only the head file can tell.
  p = makeLog(dir);
  ls = lines(p);
  ls[4] = ls[4]!.replace('"MOD"', '"XYZ"');
  put(p, ls);
  assert.equal(verifyAuditLog(p).firstBroken?.line, 5);
  assert.equal(verifyAuditLog(p, { headFile: false }).ok, true, 'without the head file the last line cannot be checked');
  // Deletion of record 3.
  p = makeLog(dir);
  ls = lines(p);
  ls.splice(2, 1);
  put(p, ls);
  assert.equal(verifyAuditLog(p).firstBroken?.line, 3);
  assert.match(verifyAuditLog(p).firstBroken!.problem, /record\(s\) 3 deleted/);
  // Reordering of records 2 and 3.
  p = makeLog(dir);
  ls = lines(p);
  [ls[1], ls[2]] = [ls[2]!, ls[1]!];
  put(p, ls);
  assert.equal(verifyAuditLog(p).firstBroken?.line, 2);
  // Torn last line.
  p = makeLog(dir);
  writeFileSync(p, readFileSync(p, 'utf8').slice(0, -20));
  assert.equal(verifyAuditLog(p).firstBroken?.line, 5);
  assert.match(verifyAuditLog(p).firstBroken!.problem, /incomplete/);
  assert.throws(() => new AuditLog(p), /incomplete record/, 'the writer refuses to continue a torn log');
  // Truncation of the last two whole records.
  p = makeLog(dir);
  put(p, lines(p).slice(0, 3));
  assert.equal(verifyAuditLog(p).firstBroken?.line, 4);
  assert.match(verifyAuditLog(p).firstBroken!.problem, /truncated/);
  // A whole chain rewritten from record 2 on (and its head file): only an anchor kept elsewhere catches it.
  p = makeLog(dir);
  const anchor = { seq: 3, sha256: sha256hex(lines(p)[2]!) };
  const q = join(dir, 'rewritten.jsonl');
  const w = new AuditLog(q);
  w.append(entry(1));
  w.append({ ...entry(2), bytes: 1 });
  for (let i = 3; i <= 5; i++) w.append(entry(i));
  w.close();
  assert.equal(verifyAuditLog(q).ok, true);
  assert.equal(verifyAuditLog(q, { anchor }).firstBroken?.line, 3);
  assert.equal(verifyAuditLog(p, { anchor }).ok, true);
});


test('radseal audit verify: exit 0 and the head on an intact log, exit 1 naming the record on a broken one', (t) => {
  const dir = tempDir(t, 'radseal-audit-');
  const p = makeLog(dir, 4);
  const cli = (...a: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'host', 'cli', 'main.ts'), 'audit', 'verify', ...a], { encoding: 'utf8', cwd: ROOT });
  let r = cli(p);
  assert.equal(r.status, 0, r.stderr);
  const m = /head (4):([0-9a-f]{64})/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.equal(cli(p, '--anchor', `${m[1]}:${m[2]}`).status, 0);
  const ls = lines(p);
  ls[0] = ls[0]!.replace('"2.25.1"', '"2.25.9"');
  put(p, ls);
  r = cli(p);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /BROKEN at record 1: record 1 was changed/);
});
