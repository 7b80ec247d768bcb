// DICOM over TLS against DCMTK on loopback, both ways: DCMTK storescu (+tls) into radseal's
// ingest gateway, and radseal's SCU into DCMTK storescp (+tls). Certificates are made here with
// the openssl command line (EC P-256, as BCP 195 profiles expect): a site CA issuing the server's
// (SAN IP 127.0.0.1) and a modality's certificate, and a rogue CA with a certificate of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cStore, parsePart10, DicomNetError } from '../../../host/net/cstore.js';
import type { AuditRecord } from '../../../host/ingest/audit.js';
import { startGateway } from '../../../host/ingest/gateway/gateway.js';
import { loadTls } from '../../../host/net/tls.js';
import { tempDir } from '../dicom/fixtures.js';
import { freePort, startStoreScp } from './storescp.js';
import { makeObjects, testIngestor } from '../../services/ingest-fixtures.js';

import { makePki } from '../support/openssl-pki.js';

const readAudit = (p: string): AuditRecord[] => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);

test('DICOM over TLS: DCMTK storescu into the gateway with a site certificate; no TLS, or a rogue certificate, gets nothing in', async (t) => {
  const dir = tempDir(t, 'radseal-tls-gw-');
  makePki(dir, 'site-ca', [{ name: 'gateway', san: 'IP:127.0.0.1' }, { name: 'modality' }]);
  makePki(dir, 'rogue-ca', [{ name: 'rogue' }]);
  const objs = await makeObjects(dir, 2, 96, 96);
  const { ingestor, auditPath } = testIngestor(t, dir, objs, 'reject');
  const logs: string[] = [];
  const tls = loadTls({ key: join(dir, 'gateway.key'), cert: join(dir, 'gateway.pem'), ca: join(dir, 'site-ca.pem') });
  const gw = await startGateway({ host: '127.0.0.1', port: 0, aeTitle: 'RADSEAL', tls, ingestor, log: (m) => logs.push(m) });
  t.after(() => gw.close());
  const storescu = (...args: string[]) => new Promise<string>((res) => execFile('storescu', ['-v', '-aet', 'MODALITY', '-aec', 'RADSEAL', ...args, '127.0.0.1', String(gw.port), join(dir, 'sealed-0.dcm')], { cwd: dir }, (_e, so, se) => res(so + se)));

  assert.match(await storescu('+tls', 'modality.key', 'modality.pem', '+cf', 'site-ca.pem'), /Received Store Response \(Success\)/);
  assert.doesNotMatch(await storescu(), /Store Response/, 'plain TCP to a TLS listener stores nothing');
  assert.doesNotMatch(await storescu('+tls', 'rogue.key', 'rogue.pem', '+cf', 'site-ca.pem'), /Store Response/, 'a certificate from another CA stores nothing');
  assert.deepEqual(readAudit(auditPath).map((r) => [r.source.ae, r.verdict, r.action]), [['MODALITY', 'authentic', 'stored']]);
  assert.deepEqual(readdirSync(join(dir, 'store')).filter((f) => f.endsWith('.dcm')), [`${parsePart10(objs.sealed[0]!).sopInstanceUid}.dcm`]);
  assert.ok(logs.some((l) => /TLS connection from .* refused/.test(l)), logs.join('\n'));
});

test("DICOM over TLS: radseal's SCU into DCMTK storescp, byte for byte; a server certificate from another CA is refused, retryably", async (t) => {
  const dir = tempDir(t, 'radseal-tls-scu-');
  makePki(dir, 'site-ca', [{ name: 'pacs', san: 'IP:127.0.0.1' }, { name: 'capture' }]);
  makePki(dir, 'rogue-ca', [{ name: 'rogue', san: 'IP:127.0.0.1' }]);
  const objs = await makeObjects(dir, 2, 96, 96);
  const pacs = await startStoreScp(join(dir, 'pacs-store'), await freePort(), 'PACS', ['+tls', join(dir, 'pacs.key'), join(dir, 'pacs.pem'), '+cf', join(dir, 'site-ca.pem')]);
  t.after(() => pacs.stop());
  const tls = loadTls({ key: join(dir, 'capture.key'), cert: join(dir, 'capture.pem'), ca: join(dir, 'site-ca.pem') });
  const target = { calledAe: 'PACS', host: '127.0.0.1', port: pacs.port, callingAe: 'RADSEAL', tls };
  assert.equal((await cStore(target, objs.sealed[0]!)).status, 0);
  const stored = readdirSync(join(dir, 'pacs-store'));
  assert.equal(stored.length, 1);
  const got = new Uint8Array(readFileSync(join(dir, 'pacs-store', stored[0]!)));
  assert.deepEqual(Buffer.from(got.subarray(parsePart10(got).dataSetOffset)), Buffer.from(objs.sealed[0]!.subarray(parsePart10(objs.sealed[0]!).dataSetOffset)));

  // The same PACS checked against another CA: the handshake fails, the error says so, and it is
  // retryable (the object stays queued while someone fixes the certificates).
  const wrongCa = { ...tls, ca: readFileSync(join(dir, 'rogue-ca.pem'), 'utf8') };
  await assert.rejects(cStore({ ...target, tls: wrongCa }, objs.sealed[1]!), (e: DicomNetError) => /\(TLS\): .*(certificate|self.signed)/i.test(e.message) && e.retryable);
  // Plain TCP to a TLS-only PACS does not store either.
  await assert.rejects(cStore({ ...target, tls: undefined, timeoutMs: 5000 }, objs.sealed[1]!));
  assert.equal(readdirSync(join(dir, 'pacs-store')).length, 1);
  // Key files that are missing or hold no key are named, contents never shown.
  assert.throws(() => loadTls({ key: join(dir, 'nope.key'), cert: join(dir, 'capture.pem'), ca: join(dir, 'site-ca.pem') }), /cannot read key file .*nope\.key: no such file/);
  chmodSync(join(dir, 'capture.pem'), 0o600);
  assert.throws(() => loadTls({ key: join(dir, 'capture.pem'), cert: join(dir, 'capture.pem'), ca: join(dir, 'site-ca.pem') }), /capture\.pem is a certificate, not a private key/);
  chmodSync(join(dir, 'capture.key'), 0o644);
  assert.throws(() => loadTls({ key: join(dir, 'capture.key'), cert: join(dir, 'capture.pem'), ca: join(dir, 'site-ca.pem') }), /accessible by others .*chmod 600/);
});
