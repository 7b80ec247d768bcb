// The gateway's memory limits: an object over --max-object-bytes, or one that would take the
// bytes held for objects in flight (all associations together) over --max-buffered-bytes, is
// refused with A700 (out of resources) and an Error Comment, never verified, and audited
// ("unverified", "rejected"); the bytes of a refused or abandoned object are given back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cStore, parsePart10, DicomNetError } from '../../../host/net/cstore.js';
import { APP_CONTEXT, EXPLICIT_LE, ascii, associateHead, cat, commandElement, commandSet, item, pdataPdus, pdu, uidValue, userInformation, usValue } from '../../../host/net/pdu.js';
import { formatBytes } from '../../../host/net/scp.js';
import { startGateway } from '../../../host/ingest/gateway/gateway.js';
import { startVerifyService } from '../../../host/ingest/service.js';
import { parseByteSize } from '../../../host/cli/ingest.js';
import type { AuditRecord } from '../../../host/ingest/audit.js';
import { tempDir } from '../dicom/fixtures.js';
import { makeObjects, testIngestor } from '../../services/ingest-fixtures.js';

const readAudit = (p: string): AuditRecord[] => readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRecord);

/** An association that sends a C-STORE command and the first part of its data set, then stalls. */
async function stalledStore(port: number, file: Uint8Array, bytes: number): Promise<net.Socket> {
  const p = parsePart10(file);
  const sock = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const pc = item(0x20, cat(Uint8Array.of(1, 0, 0, 0), item(0x30, ascii(p.sopClassUid)), item(0x40, ascii(EXPLICIT_LE))));
  sock.write(pdu(0x01, cat(associateHead('RADSEAL', 'STALLER'), item(0x10, ascii(APP_CONTEXT)), pc, userInformation(65536))));
  await new Promise<void>((r) => sock.once('data', () => r())); // A-ASSOCIATE-AC
  const command = commandSet([
    commandElement(0x00000002, uidValue(p.sopClassUid)), commandElement(0x00000100, usValue(0x0001)), commandElement(0x00000110, usValue(1)),
    commandElement(0x00000700, usValue(0)), commandElement(0x00000800, usValue(0)), commandElement(0x00001000, uidValue(p.sopInstanceUid)),
  ]);
  for (const u of pdataPdus(1, command, true, 65536)) sock.write(u);
  const part = pdataPdus(1, file.subarray(p.dataSetOffset, p.dataSetOffset + bytes), false, 1 << 20)[0]!;
  part[11] = 0; // not the last fragment: more would follow
  sock.write(part);
  await new Promise((r) => setTimeout(r, 200));
  return sock;
}

test('max object size: refused with A700 and a comment, audited as unverified; the association goes on', async (t) => {
  const dir = tempDir(t, 'radseal-gw-max-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const { ingestor, auditPath } = testIngestor(t, dir, objs, 'reject');
  const gw = await startGateway({ host: '127.0.0.1', port: 0, aeTitle: 'RADSEAL', ingestor, maxObjectBytes: 20000 });
  t.after(() => gw.close());
  const uid = parsePart10(objs.sealed[0]!).sopInstanceUid;
  await assert.rejects(cStore({ calledAe: 'RADSEAL', host: '127.0.0.1', port: gw.port, callingAe: 'BIG' }, objs.sealed[0]!),
    (e: unknown) => e instanceof DicomNetError && /status 0xa700 \(radseal: object over 20000 bytes, refused\)/.test(e.message) && e.retryable);
  const f = join(dir, 's.dcm');
  writeFileSync(f, objs.sealed[1]!);
  const out = await new Promise<string>((res) => execFile('storescu', ['-v', '-aec', 'RADSEAL', '127.0.0.1', String(gw.port), f], (_e, so, se) => res(so + se)));
  assert.match(out, /Received Store Response \(Refused: OutOfResources\)/, out);
  const recs = readAudit(auditPath);
  assert.equal(recs.length, 2);
  assert.deepEqual([recs[0]!.sopInstanceUid, recs[0]!.verdict, recs[0]!.action, recs[0]!.fileSha256, recs[0]!.source.ae], [uid, 'unverified', 'rejected', null, 'BIG']);
  assert.match(recs[0]!.reasons[0]!, /^refused unverified: object larger than 20000 bytes \(--max-object-bytes\)$/);
  assert.ok(recs[0]!.bytes > 20000);
});

test('max buffered bytes across associations: a stalled association holds its bytes, the next object is refused (A700) until it is gone', async (t) => {
  const dir = tempDir(t, 'radseal-gw-buf-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const size = objs.sealed[0]!.length;
  const { ingestor, auditPath } = testIngestor(t, dir, objs, 'reject');
  const limit = Math.floor(size * 1.5);
  const gw = await startGateway({ host: '127.0.0.1', port: 0, aeTitle: 'RADSEAL', ingestor, maxBufferedBytes: limit });
  t.after(() => gw.close());
  const target = { calledAe: 'RADSEAL', host: '127.0.0.1', port: gw.port, callingAe: 'MOD' };
  // One after another, each fits: the bytes of each handled object are given back.
  for (let i = 0; i < 3; i++) assert.equal((await cStore(target, objs.sealed[i % 2]!)).status, 0);

  const stalled = await stalledStore(gw.port, objs.sealed[0]!, Math.floor(size * 0.75));
  const echo = await new Promise<string>((res) => execFile('echoscu', ['-v', '-aec', 'RADSEAL', '127.0.0.1', String(gw.port)], (_e, so, se) => res(so + se)));
  assert.match(echo, /Received Echo Response \(Success\)/, 'C-ECHO on another association is answered meanwhile');
  await assert.rejects(cStore(target, objs.sealed[1]!), (e: unknown) => e instanceof DicomNetError && /status 0xa700 \(radseal: out of buffer space, try again later\)/.test(e.message) && e.retryable);
  const refused = readAudit(auditPath).at(-1)!;
  assert.equal(refused.verdict, 'unverified');
  assert.match(refused.reasons[0]!, new RegExp(`out of buffer space: .* held for objects in flight, limit ${formatBytes(limit).replace(/\./g, '\\.')} \\(--max-buffered-bytes\\)`));

  stalled.destroy();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await cStore(target, objs.sealed[1]!)).status, 0, 'the abandoned object gave its bytes back');
  assert.deepEqual(readAudit(auditPath).map((r) => r.verdict), ['authentic', 'authentic', 'authentic', 'unverified', 'authentic']);
});

test('--max-object-bytes / --max-buffered-bytes take plain counts and KiB/MiB/GiB', () => {
  assert.equal(parseByteSize('1073741824', 'x'), 2 ** 30);
  assert.equal(parseByteSize('512MiB', 'x'), 512 * 2 ** 20);
  assert.equal(parseByteSize('2GiB', 'x'), 2 ** 31);
  assert.equal(parseByteSize('64k', 'x'), 65536);
  assert.equal(formatBytes(2 ** 31), '2 GiB');
  for (const bad of ['', '0', '-1', '1TB', 'lots']) assert.throws(() => parseByteSize(bad, '--max-object-bytes'), /--max-object-bytes must be a byte count/);
});

test('verify-service: a body over its limit is answered 413, not verified', async (t) => {
  const dir = tempDir(t, 'radseal-svc-max-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const { ingestor, auditPath } = testIngestor(t, dir, objs, 'reject');
  const svc = await startVerifyService({ host: '127.0.0.1', port: 0, ingestor, maxBodyBytes: 1000 });
  t.after(() => svc.close());
  const res = await fetch(`http://127.0.0.1:${svc.port}/verify`, { method: 'POST', body: Buffer.from(objs.sealed[0]!) }).catch((e: Error) => e);
  assert.ok(!(res instanceof Error), `an answer, not a broken connection: ${String(res)}`);
  assert.equal((res as Response).status, 413);
  assert.equal(readFileSync(auditPath, 'utf8'), '');
});
