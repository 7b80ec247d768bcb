// The ingest gateway end to end on loopback: radseal's SCU and DCMTK storescu
// send sealed, tampered and unsigned objects; the gateway verifies, stores and
// forwards authentic ones byte for byte to DCMTK storescp, quarantines the
// rest with their report, refuses them (A900) or accepts-and-flags them per
// policy, and audits every one in a chain that verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cStore, parsePart10, DicomNetError } from '../../../host/net/cstore.js';
import { verifyAuditLog, type AuditRecord } from '../../../host/ingest/audit.js';
import { startGateway, watchFolder } from '../../../host/ingest/gateway/gateway.js';
import { callerProblem } from '../../../host/net/scp.js';
import { tempDir } from '../dicom/fixtures.js';
import { freePort, startStoreScp } from '../net/storescp.js';
import { makeObjects, testIngestor } from '../../services/ingest-fixtures.js';

const readAudit = (p: string): AuditRecord[] => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
const dataSetOf = (b: Uint8Array) => Buffer.from(b.subarray(parsePart10(b).dataSetOffset));

test('gateway, reject policy: authentic stored and forwarded byte for byte; tampered and unsigned refused with A900, quarantined with report, all audited', async (t) => {
  const dir = tempDir(t, 'radseal-gw-');
  const objs = await makeObjects(dir);
  const pacs = await startStoreScp(join(dir, 'pacs'), await freePort(), 'PACS');
  t.after(() => pacs.stop());
  const { ingestor, auditPath } = testIngestor(t, dir, objs, 'reject');
  const gw = await startGateway({ host: '127.0.0.1', port: 0, aeTitle: 'RADSEAL', ingestor, forward: { calledAe: 'PACS', host: '127.0.0.1', port: pacs.port, callingAe: 'RADSEAL' }, minBackoffMs: 100 });
  t.after(() => gw.close());
  const target = { calledAe: 'RADSEAL', host: '127.0.0.1', port: gw.port, callingAe: 'MODALITY1' };

  // Authentic objects: success, stored as sent, forwarded as sent.
  for (const s of objs.sealed) assert.equal((await cStore(target, s)).status, 0);
  const uids = objs.sealed.map((s) => parsePart10(s).sopInstanceUid);
  for (const [i, uid] of uids.entries()) {
    const stored = new Uint8Array(readFileSync(join(dir, 'store', `${uid}.dcm`)));
    assert.deepEqual(dataSetOf(stored), dataSetOf(objs.sealed[i]!), 'stored data set = sent data set');
  }
  assert.ok(await gw.forwarder!.drain(20000), 'forward queue drains');
  const atPacs = readdirSync(pacs.dir);
  assert.equal(atPacs.length, 2);
  for (const f of atPacs) {
    const b = new Uint8Array(readFileSync(join(pacs.dir, f)));
    const i = uids.indexOf(parsePart10(b).sopInstanceUid);
    assert.ok(i >= 0);
    assert.deepEqual(dataSetOf(b), dataSetOf(objs.sealed[i]!), 'PACS got the original bytes');
  }

  // Tampered: refused with A900, never forwarded, quarantined with its report.
  await assert.rejects(cStore(target, objs.tampered), (e: unknown) => e instanceof DicomNetError && /status 0xa900/.test(e.message) && !e.retryable);
  await assert.rejects(cStore(target, objs.unsigned), /status 0xa900/);
  const q = readdirSync(join(dir, 'quarantine')).sort();
  assert.equal(q.filter((f) => f.endsWith('.dcm')).length, 2);
  assert.equal(q.filter((f) => f.endsWith('.json')).length, 2);
  const reports = q.filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, 'quarantine', f), 'utf8')));
  const tamperedReport = reports.find((r) => r.verdict === 'tampered');
  assert.ok(tamperedReport, 'a tampered report');
  assert.deepEqual(tamperedReport.tamperedTiles.tiles, [[1, 2]]);
  assert.equal(tamperedReport.ingest.action, 'rejected');
  assert.equal(tamperedReport.ingest.source.ae, 'MODALITY1');
  assert.ok(reports.some((r) => r.verdict === 'unsigned'));
  // The quarantined bytes are exactly what was sent.
  const qTampered = q.find((f) => f.endsWith('.dcm') && JSON.parse(readFileSync(join(dir, 'quarantine', f.replace(/\.dcm$/, '.json')), 'utf8')).verdict === 'tampered')!;
  assert.deepEqual(dataSetOf(new Uint8Array(readFileSync(join(dir, 'quarantine', qTampered)))), dataSetOf(objs.tampered));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(readdirSync(pacs.dir).length, 2, 'nothing non-authentic reached PACS');

  // DCMTK storescu sees the refusal and its reason.
  const tf = join(dir, 'tampered.dcm');
  writeFileSync(tf, objs.tampered);
  // (async: the gateway runs in this process and must keep answering)
  const storescu = (f: string) => new Promise<string>((res) => execFile('storescu', ['-v', '-aet', 'DCMTKSCU', '-aec', 'RADSEAL', '127.0.0.1', String(gw.port), f], (_e, so, se) => res(so + se)));
  const out = await storescu(tf);
  assert.match(out, /Received Store Response \(Error: DataSetDoesNotMatchSOPClass\)/, out);
  // A sealed object sent by storescu (DCMTK writes the data set again on the way) still verifies.
  const sf = join(dir, 'sealed-0.dcm');
  assert.match(await storescu(sf), /Received Store Response \(Success\)/);

  // Wrong called AE: association rejected.
  await assert.rejects(cStore({ ...target, calledAe: 'OTHER' }, objs.sealed[0]!), /association rejected.*reason 7/);

  // Audit: one record per verification, in order, chain intact, no PHI.
  const recs = readAudit(auditPath);
  assert.deepEqual(recs.map((x) => [x.verdict, x.action]), [['authentic', 'stored'], ['authentic', 'stored'], ['tampered', 'rejected'], ['unsigned', 'rejected'], ['tampered', 'rejected'], ['authentic', 'stored']]);
  assert.deepEqual(recs.map((x) => x.source.ae), ['MODALITY1', 'MODALITY1', 'MODALITY1', 'MODALITY1', 'DCMTKSCU', 'DCMTKSCU']);
  assert.equal(recs[0]!.source.host, '127.0.0.1');
  assert.equal(recs[0]!.sopInstanceUid, uids[0]);
  assert.equal(recs[0]!.device, 'DX-ROOM-3');
  assert.deepEqual(recs[2]!.tamperedTiles!.tiles, [[1, 2]]);
  assert.equal(recs[2]!.fileSha256?.length, 64);
  const check = verifyAuditLog(auditPath);
  assert.equal(check.ok, true, JSON.stringify(check.firstBroken));
  assert.equal(check.records, 6);
  const text = readFileSync(auditPath, 'utf8');
  for (const phi of ['Test^Patient', 'PID-0001', '19700101', 'ACC-1']) assert.ok(!text.includes(phi), `audit log must not hold ${phi}`);
});

test('gateway, flag policy: non-authentic accepted (status 0) but quarantined, never stored or forwarded; folder mode audits too', async (t) => {
  const dir = tempDir(t, 'radseal-gw-flag-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const { ingestor } = testIngestor(t, dir, objs, 'flag');
  const gw = await startGateway({ host: '127.0.0.1', port: 0, aeTitle: 'RADSEAL', ingestor });
  t.after(() => gw.close());
  const target = { calledAe: 'RADSEAL', host: '127.0.0.1', port: gw.port, callingAe: 'MOD2' };
  assert.equal((await cStore(target, objs.tampered)).status, 0);
  assert.equal((await cStore(target, objs.sealed[0]!)).status, 0);
  assert.deepEqual(readdirSync(join(dir, 'store')).filter((f) => f.endsWith('.dcm')), [`${parsePart10(objs.sealed[0]!).sopInstanceUid}.dcm`]);
  assert.equal(readdirSync(join(dir, 'quarantine')).filter((f) => f.endsWith('.dcm')).length, 1);
  assert.deepEqual(readAudit(join(dir, 'audit.jsonl')).map((x) => [x.verdict, x.action, x.policy]), [['tampered', 'quarantined', 'flag'], ['authentic', 'stored', 'flag']]);

  // Folder mode: a dropped file is ingested and removed from the drop folder.
  const drop = join(dir, 'drop');
  const w = watchFolder(drop, ingestor, undefined, undefined, { settleMs: 0 });
  t.after(() => w.close());
  writeFileSync(join(drop, 'x.dcm'), objs.unsigned);
  await w.scan();
  assert.equal(existsSync(join(drop, 'x.dcm')), false);
  const recs = readAudit(join(dir, 'audit.jsonl'));
  assert.deepEqual([recs[2]!.verdict, recs[2]!.source.via], ['unsigned', 'watch']);
  assert.equal(verifyAuditLog(join(dir, 'audit.jsonl')).ok, true);
});

test('callerProblem: AE titles alone or bound to an address; IPv4-mapped addresses match; empty list allows all', () => {
  assert.equal(callerProblem(undefined, 'ANY', '10.0.0.1'), null);
  assert.equal(callerProblem([], 'ANY', '10.0.0.1'), null);
  const allow = ['MOD1', 'MOD2@10.1.2.3', 'MOD2@10.1.2.4'];
  assert.equal(callerProblem(allow, 'MOD1', '192.168.0.9'), null);
  assert.equal(callerProblem(allow, 'MOD2', '10.1.2.4'), null);
  assert.equal(callerProblem(allow, 'MOD2', '::ffff:10.1.2.3'), null);
  assert.match(callerProblem(allow, 'MOD2', '10.1.2.5')!, /not allowed from 10\.1\.2\.5/);
  assert.match(callerProblem(allow, 'MOD3', '10.1.2.3')!, /not on the allow-list/);
  assert.match(callerProblem(allow, 'mod1', '10.1.2.3')!, /not on the allow-list/, 'AE titles are compared exactly');
});

test('gateway with an allow-list: listed calling AEs (from their address) store; others are rejected at association (reason 3) and nothing is audited for them', async (t) => {
  const dir = tempDir(t, 'radseal-gw-allow-');
  const objs = await makeObjects(dir, 2, 96, 96);
  const { ingestor, auditPath } = testIngestor(t, dir, objs, 'reject');
  const logs: string[] = [];
  const gw = await startGateway({ host: '127.0.0.1', port: 0, aeTitle: 'RADSEAL', allowedCallers: ['MODALITY1', 'DCMTKSCU@127.0.0.1', 'FARAWAY@10.9.9.9'], ingestor, log: (m) => logs.push(m) });
  t.after(() => gw.close());
  const to = (callingAe: string) => ({ calledAe: 'RADSEAL', host: '127.0.0.1', port: gw.port, callingAe });
  assert.equal((await cStore(to('MODALITY1'), objs.sealed[0]!)).status, 0);
  await assert.rejects(cStore(to('STRANGER'), objs.sealed[1]!), (e: DicomNetError) => /association rejected .*reason 3/.test(e.message));
  await assert.rejects(cStore(to('FARAWAY'), objs.sealed[1]!), /association rejected .*reason 3/);
  const sf = join(dir, 'sealed-1.dcm');
  const storescu = (aet: string) => new Promise<string>((res) => execFile('storescu', ['-v', '-aet', aet, '-aec', 'RADSEAL', '127.0.0.1', String(gw.port), sf], (_e, so, se) => res(so + se)));
  assert.match(await storescu('INTRUDER'), /Association Rejected[\s\S]*Calling AE Title Not Recognized/i);
  assert.match(await storescu('DCMTKSCU'), /Received Store Response \(Success\)/);
  assert.deepEqual(readAudit(auditPath).map((r) => [r.source.ae, r.verdict]), [['MODALITY1', 'authentic'], ['DCMTKSCU', 'authentic']]);
  assert.ok(logs.some((l) => /STRANGER .*not on the allow-list/.test(l)), logs.join('\n'));
  assert.ok(logs.some((l) => /FARAWAY .*not allowed from 127\.0\.0\.1/.test(l)), logs.join('\n'));
});

test('gateway forwarding by STOW-RS: the stored authentic object goes on byte for byte as an application/dicom part; the tampered one does not', async (t) => {
  const dir = tempDir(t, 'radseal-gw-stow-');
  const objs = await makeObjects(dir, 2, 96, 96);
  const bodies: Buffer[] = [];
  const srv = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      bodies.push(body);
      const uid = objs.sealed.map((s) => parsePart10(s).sopInstanceUid).find((u) => body.includes(Buffer.from(u)))!;
      res.writeHead(200, { 'content-type': 'application/dicom+json' }).end(JSON.stringify({ '00081199': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: [uid] } }] } }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => srv.close(() => r())));
  const { ingestor } = testIngestor(t, dir, objs, 'reject');
  const gw = await startGateway({ host: '127.0.0.1', port: 0, aeTitle: 'RADSEAL', ingestor, forward: { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/dicom-web/studies` }, minBackoffMs: 50 });
  t.after(() => gw.close());
  const to = { calledAe: 'RADSEAL', host: '127.0.0.1', port: gw.port, callingAe: 'MOD' };
  assert.equal((await cStore(to, objs.sealed[0]!)).status, 0);
  await assert.rejects(cStore(to, objs.tampered));
  assert.ok(await gw.forwarder!.drain(10000));
  assert.equal(bodies.length, 1);
  assert.ok(bodies[0]!.includes(dataSetOf(objs.sealed[0]!)), 'the data set as the modality sent it, byte for byte');
  const stored = readFileSync(join(dir, 'store', `${parsePart10(objs.sealed[0]!).sopInstanceUid}.dcm`));
  assert.ok(bodies[0]!.includes(stored), 'the stored file, byte for byte');
});
