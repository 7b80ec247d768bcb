// The built CLI end to end: `radseal ingest` with --audit-syslog to a real rsyslog over mutual
// TLS; DCMTK storescu sends an authentic and a tampered object; the repository receives
// Application Start, Instances Transferred for both, a Security Alert for the tampered one, the
// head anchor and Application Stop. `radseal audit verify --anchors` then proves the log against
// those anchors, and catches a rewrite of the whole log and head file even when the local anchor
// record is deleted too (the repository's copy). Run inside a private network namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog, type AuditEntry } from '../../../host/ingest/audit.js';
import { anchorsDir } from '../../../host/audit/anchor.js';
import { makeObjects } from '../../services/ingest-fixtures.js';
import { radseal, startRadseal } from '../support/run.js';
import { makePki, tempDir } from './fixtures.js';
import { rsyslog, waitFor } from './rsyslog.js';

const msgIds = (lines: string[]) => lines.map((l) => /^<\d+>1 \S+ \S+ \S+ \S+ (\S+)/.exec(l)?.[1]);
const eventIds = (lines: string[]) => lines.map((l) => /<EventID csd-code="(\d+)"/.exec(l)?.[1] ?? /RADSEAL-HEAD/.exec(l)?.[0]).filter(Boolean);

test('radseal ingest --audit-syslog: the repository gets the standard messages and the head; audit verify --anchors catches a rewrite', async (t) => {
  const dir = tempDir(t, 'radseal-gw-atna-');
  makePki(dir, 'site-ca', [{ name: 'arr', san: 'IP:127.0.0.1' }, { name: 'gateway' }]);
  const arr = rsyslog(dir, { ca: 'site-ca.pem', cert: 'arr.pem', key: 'arr.key', tcpPort: 6520, udpPort: 5520 });
  await arr.start();
  t.after(() => arr.stop());
  const objs = await makeObjects(dir, 2, 128, 128);
  writeFileSync(join(dir, 'tampered.dcm'), objs.tampered);
  const log = join(dir, 'audit.jsonl');
  const gw = startRadseal(['ingest', '--listen', '127.0.0.1:11150', '--ae', 'RADSEAL', '--trust', objs.ids.trustPem, '--store', join(dir, 'store'), '--quarantine', join(dir, 'q'),
    '--audit', log, '--audit-syslog', 'tls://127.0.0.1:6520', '--audit-tls-key', join(dir, 'gateway.key'), '--audit-tls-cert', join(dir, 'gateway.pem'), '--audit-tls-ca', join(dir, 'site-ca.pem'),
    '--audit-source-id', 'pacs-gw-1', '--audit-anchor-records', '1', '--status-every', '0']);
  await waitFor('the gateway to listen', () => /listening on/.test(gw.output()), 60000).catch((e: Error) => {
    throw new Error(`${e.message}: ${gw.output()}`);
  });
  const storescu = (file: string) => new Promise<string>((res) => execFile('storescu', ['-aet', 'MODALITY1', '-aec', 'RADSEAL', '127.0.0.1', '11150', file], (_e, so, se) => res(so + se)));
  await storescu(join(dir, 'sealed-0.dcm'));
  await storescu(join(dir, 'tampered.dcm'));
  await waitFor('two audit records', () => /tampered → rejected/.test(gw.output()));
  // An association to another called AE is refused: a Security Alert (Node Authentication).
  await new Promise<void>((res) => execFile('storescu', ['-aet', 'INTRUDER', '-aec', 'NOT-RADSEAL', '127.0.0.1', '11150', join(dir, 'sealed-0.dcm')], () => res()));
  await waitFor('the refusal', () => /INTRUDER .*rejected/.test(gw.output()));
  gw.proc.kill('SIGTERM');
  const exit = await gw.done;
  assert.equal(exit.code, 0, exit.out);
  await waitFor('the stop message', () => eventIds(arr.lines()).filter((e) => e === '110100').length === 2, 10000);

  const lines = arr.lines();
  const events = eventIds(lines);
  // Start; per object Transferred (+ an alert for the tampered one) with a head anchor after each record; stop; final anchor is the same head.
  assert.equal(events[0], '110100');
  assert.equal(events.filter((e) => e === '110104').length, 2, events.join(' '));
  const alertCodes = lines.map((l) => /csd-code="(RS\d+)"/.exec(l)?.[1]).filter(Boolean);
  // Every alert says which; the anomaly rules running in the gateway may add their own (RS007).
  assert.equal(alertCodes.length, events.filter((e) => e === '110113').length, `${events.join(' ')} / ${alertCodes.join(' ')}`);
  assert.equal(lines.filter((l) => l.includes('csd-code="RS001"')).length, 1, 'one non-authentic object');
  assert.match(lines.find((l) => l.includes('csd-code="RS004"')) ?? '', /csd-code="110126"[\s\S]*UserID="INTRUDER"/, 'the refused association, naming the caller');
  assert.equal(events[events.length - 1], '110100');
  assert.ok(events.includes('RADSEAL-HEAD'));
  assert.ok(msgIds(lines).every((m) => m === 'IHE+RFC-3881' || m === 'RADSEAL-HEAD'));
  const alert = lines.find((l) => l.includes('csd-code="RS001"'))!;
  assert.match(alert, /AuditSourceID="pacs-gw-1"/);
  assert.match(alert, /UserID="MODALITY1"/);
  assert.match(alert, /ParticipantObjectTypeCodeRole="1"/, 'the patient is a participant object');
  const rejected = lines.find((l) => l.includes('csd-code="110104"') && l.includes('EventOutcomeIndicator="4"'));
  assert.ok(rejected, 'the refused object is a failed transfer');

  // The people reading: verify (Instances Accessed) and audit verify (Audit Log Used), through their own spool.
  const tlsArgs = ['--audit-syslog', 'tls://127.0.0.1:6520', '--audit-tls-key', join(dir, 'gateway.key'), '--audit-tls-cert', join(dir, 'gateway.pem'), '--audit-tls-ca', join(dir, 'site-ca.pem'), '--audit-spool', join(dir, 'cli-spool')];
  assert.equal(radseal('verify', join(dir, 'sealed-0.dcm'), '--trust', objs.ids.trustPem, ...tlsArgs).code, 0);
  assert.equal(radseal('report', join(dir, 'tampered.dcm'), '--trust', objs.ids.trustPem, '--out', join(dir, 'r.html'), ...tlsArgs).code, 1);
  const ok = radseal('audit', 'verify', log, '--anchors', '--anchors-from', arr.received, ...tlsArgs);
  await waitFor('Instances Accessed (verify, report) and Audit Log Used', () => eventIds(arr.lines()).filter((e) => e === '110103').length === 2 && eventIds(arr.lines()).includes('110101'), 10000);
  assert.ok(arr.lines().some((l) => l.includes('csd-code="110103"') && l.includes('EventOutcomeIndicator="4"')), 'the report on a tampered object is an access with a failure outcome');
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /anchors: \d+ from .*received\.log/);

  // A full rewrite: a new chain (the tampered object now "authentic"), a fresh head file.
  const forged = join(dir, 'forged.jsonl');
  const f = new AuditLog(forged);
  for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
    const { seq: _s, time: _t, prev: _p, kind: _k, ...rest } = JSON.parse(line) as AuditEntry & { seq: number; time: string; prev: string; kind: string };
    f.append({ ...rest, verdict: 'authentic', action: 'stored', reasons: [] });
  }
  f.close();
  copyFileSync(forged, log);
  copyFileSync(`${forged}.head`, `${log}.head`);
  assert.equal(radseal('audit', 'verify', log).code, 0, 'the chain alone cannot see a full rewrite');
  const local = radseal('audit', 'verify', log, '--anchors');
  assert.equal(local.code, 1);
  assert.match(local.stdout, /BROKEN at record \d+: record \d+ does not hash to the anchor/);
  rmSync(anchorsDir(log), { recursive: true });
  assert.equal(radseal('audit', 'verify', log, '--anchors').code, 1, 'no anchors left locally: not proven');
  const remote = radseal('audit', 'verify', log, '--anchors-from', arr.received);
  assert.equal(remote.code, 1, remote.stdout);
  assert.match(remote.stdout, /BROKEN at record \d+: .*does not hash to the anchor \(.*received\.log\)/);
});
