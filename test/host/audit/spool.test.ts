// The spool on its own: in order, durable across reopen, a torn last write dropped (never a
// message reported queued), a delivered pointer past an emptied queue, one process per spool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditSpool } from '../../../host/audit/spool.js';
import { octetCounted, readOctetCounted } from '../../../host/audit/syslog.js';
import { tempDir } from './fixtures.js';

const msg = (i: number) => Buffer.from(`<85>1 - h radseal 1 IHE+RFC-3881 [radseal@32473 spool="${i}"] message ${i} with\nnewline`);

test('spool: sequence numbers continue across reopen; delivered messages are not sent again; files are private', (t) => {
  const dir = join(tempDir(t, 'radseal-spool-'), 'spool');
  const s = new AuditSpool(dir);
  for (let i = 1; i <= 5; i++) assert.equal(s.append(msg(i)), i);
  assert.equal(s.pending, 5);
  assert.deepEqual(readOctetCounted(s.frame(0)!.frame).frames[0], msg(1));
  s.markDelivered(2);
  s.close();
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, 'queue.log')).mode & 0o777, 0o600);
  const again = new AuditSpool(dir);
  assert.equal(again.pending, 3);
  assert.equal(again.frame(0)!.seq, 3);
  assert.deepEqual(readOctetCounted(again.frame(0)!.frame).frames[0], msg(3));
  assert.equal(again.append(msg(6)), 6);
  again.close();
});

test('spool: a write torn by a crash is dropped and said; a second opener is refused', (t) => {
  const dir = join(tempDir(t, 'radseal-spool-torn-'), 'spool');
  const s = new AuditSpool(dir);
  s.append(msg(1));
  assert.throws(() => new AuditSpool(dir), /already open in this process/);
  s.close();
  appendFileSync(join(dir, 'queue.log'), octetCounted(msg(2)).subarray(0, 20));
  const r = new AuditSpool(dir);
  assert.match(r.repaired ?? '', /dropped 20 byte/);
  assert.equal(r.pending, 1);
  assert.equal(r.append(msg(2)), 2);
  assert.equal(readOctetCounted(readFileSync(join(dir, 'queue.log'))).frames.length, 2);
  r.close();
});

test('spool: a delivered pointer beyond the queue (emptied, stopped before the pointer moved) means all was delivered', (t) => {
  const dir = join(tempDir(t, 'radseal-spool-empty-'), 'spool');
  new AuditSpool(dir).close();
  writeFileSync(join(dir, 'delivered.json'), JSON.stringify({ offset: 999999, seq: 41 }));
  const s = new AuditSpool(dir);
  assert.equal(s.pending, 0);
  assert.equal(s.append(msg(42)), 42);
  s.close();
  writeFileSync(join(dir, 'delivered.json'), '{broken');
  assert.throws(() => new AuditSpool(dir), /not valid JSON/);
});
