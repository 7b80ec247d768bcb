// Every front door survives any input. A verifier that throws (it should not; defence in
// depth) becomes an `invalid` verdict with "internal error while verifying: …" (no stack
// trace), a quarantined copy with its report and an audit record: the gateway answers a
// refusal, the folder watcher goes on, the verify-service answers 200. Real hostile files (a
// Part 10 file cut in half, random bytes, MAC Algorithm "constructor") go through DCMTK
// storescu (which refuses to read the first two, so radseal's SCU, which sends bytes as they
// are, stands in for those) to the gateway, through the watch folder and through the
// verify-service: each gets a verdict, and the gateway still answers C-ECHO afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cStore, DicomNetError } from '../../../host/net/cstore.js';
import { startGateway, watchFolder } from '../../../host/ingest/gateway/gateway.js';
import { Ingestor, internalErrorReport } from '../../../host/ingest/gateway/ingest.js';
import { startVerifyService } from '../../../host/ingest/service.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { verifyAuditLog, type AuditRecord } from '../../../host/ingest/audit.js';
import { tempDir } from '../dicom/fixtures.js';
import { makeObjects, testIngestor } from '../../services/ingest-fixtures.js';
import { hostileFiles } from '../net/hostile-files.js';

const readAudit = (p: string): AuditRecord[] => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
const quarantineReports = (dir: string) => readdirSync(join(dir, 'quarantine')).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, 'quarantine', f), 'utf8')) as { verdict: string; reasons: string[] });
const run = (cmd: string, args: string[]) => new Promise<string>((res) => execFile(cmd, args, (_e, so, se) => res(so + se)));

function throwingVerifier(): never {
  const err = new Error('kaboom in the verifier');
  err.stack = 'Error: kaboom in the verifier\n    at secret (/opt/radseal/verify.js:1:1)';
  throw err;
}

test('internalErrorReport: invalid, the message only, no stack trace', () => {
  const r = internalErrorReport('x.dcm', Object.assign(new Error('first line\n    at somewhere (/x.js:1:1)')));
  assert.equal(r.verdict, 'invalid');
  assert.deepEqual(r.reasons, ['internal error while verifying: first line']);
  assert.equal(internalErrorReport('x.dcm', 'a string thrown').reasons[0], 'internal error while verifying: a string thrown');
});

test('a throwing verifier: gateway refuses (A900, not A700) and quarantines with an invalid report; watcher and verify-service go on; all audited', async (t) => {
  const dir = tempDir(t, 'radseal-gw-throw-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const base = testIngestor(t, dir, objs, 'reject');
  const ingestor = new Ingestor({ ...base.ingestor.o, verify: throwingVerifier });
  const gw = await startGateway({ host: '127.0.0.1', port: 0, aeTitle: 'RADSEAL', ingestor });
  t.after(() => gw.close());
  await assert.rejects(cStore({ calledAe: 'RADSEAL', host: '127.0.0.1', port: gw.port, callingAe: 'MOD' }, objs.sealed[0]!),
    (e: unknown) => e instanceof DicomNetError && /status 0xa900 \(radseal invalid: internal error while verifying/.test(e.message) && !e.retryable);

  const drop = join(dir, 'drop');
  const logs: string[] = [];
  const w = watchFolder(drop, ingestor, (m) => logs.push(m), undefined, { settleMs: 0, pollMs: 60000 });
  t.after(() => w.close());
  writeFileSync(join(drop, 'a.dcm'), objs.sealed[1]!);
  await w.scan();
  assert.equal(existsSync(join(drop, 'a.dcm')), false, 'the watcher moved on');
  assert.match(logs.join('\n'), /a\.dcm: invalid → rejected/);

  const svc = await startVerifyService({ host: '127.0.0.1', port: 0, ingestor });
  t.after(() => svc.close());
  const res = await fetch(`http://127.0.0.1:${svc.port}/verify?via=test`, { method: 'POST', body: Buffer.from(objs.sealed[0]!) });
  assert.equal(res.status, 200);
  const body = await res.json() as { verdict: string; reasons: string[]; delete: boolean };
  assert.equal(body.verdict, 'invalid');
  assert.equal(body.delete, true);
  assert.match(body.reasons[0]!, /^internal error while verifying: kaboom in the verifier$/);

  const recs = readAudit(base.auditPath);
  assert.deepEqual(recs.map((r) => [r.source.via, r.verdict, r.action]), [['c-store', 'invalid', 'rejected'], ['watch', 'invalid', 'rejected'], ['test', 'invalid', 'rejected']]);
  for (const r of recs) assert.deepEqual(r.reasons, ['internal error while verifying: kaboom in the verifier']);
  const reports = quarantineReports(dir);
  assert.equal(reports.length, 3, 'three distinct files (the gateway adds its own meta header), each with its report');
  for (const r of reports) assert.equal(r.verdict, 'invalid');
  assert.ok(!readFileSync(base.auditPath, 'utf8').includes('/opt/radseal'), 'no stack trace in the audit log');
  assert.equal(verifyAuditLog(base.auditPath).ok, true);
});

test('hostile files through the gateway (storescu and radseal SCU), the watch folder and the verify-service: a verdict each, nothing dies', async (t) => {
  const dir = tempDir(t, 'radseal-gw-hostile-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const h = hostileFiles(objs.sealed[0]!);
  const { ingestor, auditPath } = testIngestor(t, dir, objs, 'reject');
  const gw = await startGateway({ host: '127.0.0.1', port: 0, aeTitle: 'RADSEAL', ingestor });
  t.after(() => gw.close());
  const target = { calledAe: 'RADSEAL', host: '127.0.0.1', port: gw.port, callingAe: 'MOD' };

  // Gateway. storescu sends the well-formed one; it will not read the others, radseal's SCU sends them as they are.
  const mac = join(dir, 'constructor.dcm');
  writeFileSync(mac, h.constructorMac);
  const out = await run('storescu', ['-v', '-aet', 'DCMTKSCU', '-aec', 'RADSEAL', '127.0.0.1', String(gw.port), mac]);
  assert.match(out, /Received Store Response \(Error: DataSetDoesNotMatchSOPClass\)/, out);
  for (const bad of [h.truncated, h.randomDataSet]) {
    await assert.rejects(cStore(target, bad), (e: unknown) => e instanceof DicomNetError && /status 0xa900 \(radseal invalid: /.test(e.message));
  }
  assert.match(await run('echoscu', ['-v', '-aec', 'RADSEAL', '127.0.0.1', String(gw.port)]), /Received Echo Response \(Success\)/, 'the gateway still answers');
  assert.equal((await cStore(target, objs.sealed[1]!)).status, 0, 'and still stores');

  // Watch folder: DICOM ones get a verdict; random bytes are "not DICOM", logged and left.
  const drop = join(dir, 'drop');
  const logs: string[] = [];
  const w = watchFolder(drop, ingestor, (m) => logs.push(m), undefined, { settleMs: 0, pollMs: 60000 });
  t.after(() => w.close());
  writeFileSync(join(drop, 'truncated.dcm'), h.truncated);
  writeFileSync(join(drop, 'random.dcm'), h.random);
  writeFileSync(join(drop, 'constructor.dcm'), h.constructorMac);
  await w.scan();
  await w.scan();
  assert.deepEqual(readdirSync(drop), ['random.dcm']);
  assert.equal(logs.filter((l) => /^not DICOM: random\.dcm/.test(l)).length, 1, `said once: ${logs.join('\n')}`);

  // Verify-service: 200 and a verdict for every body, random bytes included.
  const svc = await startVerifyService({ host: '127.0.0.1', port: 0, ingestor });
  t.after(() => svc.close());
  for (const body of [h.truncated, h.random, h.randomDataSet, h.constructorMac, new Uint8Array(0)]) {
    const res = await fetch(`http://127.0.0.1:${svc.port}/verify?via=http`, { method: 'POST', body: Buffer.from(body) });
    assert.equal(res.status, 200);
    assert.notEqual(((await res.json()) as { verdict: string }).verdict, 'authentic');
  }

  const recs = readAudit(auditPath);
  // Verdicts are the verifier's business (MAC Algorithm "constructor" may be called tampered or invalid); never authentic.
  assert.deepEqual(recs.map((r) => r.verdict === 'authentic'), [false, false, false, true, false, false, false, false, false, false, false]);
  assert.ok(recs.every((r) => !r.reasons.some((x) => /internal error/.test(x))), `the verifier handled them all itself: ${JSON.stringify(recs.map((r) => r.reasons[0]))}`);
  assert.equal(verifyAuditLog(auditPath).ok, true);
});

test('stopping the gateway while an object is being handled: it is still kept and audited before close() returns', async (t) => {
  const dir = tempDir(t, 'radseal-gw-stop-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const base = testIngestor(t, dir, objs, 'reject');
  let closing: Promise<void> | null = null;
  const ingestor = new Ingestor({
    ...base.ingestor.o,
    verify: (...args) => {
      setImmediate(() => (closing = gw.close())); // stop as soon as this object's verification is under way
      return verifyObject(...args);
    },
  });
  const gw = await startGateway({ host: '127.0.0.1', port: 0, aeTitle: 'RADSEAL', ingestor });
  await assert.rejects(cStore({ calledAe: 'RADSEAL', host: '127.0.0.1', port: gw.port }, objs.sealed[0]!), DicomNetError);
  while (!closing) await new Promise((r) => setTimeout(r, 10));
  await closing;
  const recs = readAudit(base.auditPath);
  assert.deepEqual(recs.map((r) => [r.verdict, r.action]), [['authentic', 'stored']], 'kept and audited (the sender, cut off, will send again)');
  assert.ok(existsSync(join(dir, 'store', `${recs[0]!.sopInstanceUid}.dcm`)));
});
