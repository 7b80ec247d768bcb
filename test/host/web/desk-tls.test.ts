// The desk under TLS with site-issued client certificates (no tokens): a certificate from the
// site CA signs in (its CN is the operator in the audit record); no certificate, or one from
// another CA, gets the sign-in page and no decision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../dicom/fixtures.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { AuditLog, readAuditRecords } from '../../../host/ingest/audit.js';
import { Ingestor } from '../../../host/ingest/gateway/ingest.js';
import { startDesk } from '../../../host/web/desk/server.js';
import { makeStudy } from './study.js';

function issue(dir: string, name: string, cn: string, ca: string | null, ext: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  const ossl = (...a: string[]) => execFileSync('openssl', a, { stdio: 'pipe' });
  if (!ca) {
    ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', `/CN=${cn}`, '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  } else {
    const csr = join(dir, `${name}.csr`);
    ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`);
    ossl('x509', '-req', '-in', csr, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', extFile);
  }
  return { key, cert };
}

function get(url: string, o: https.RequestOptions, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { ...o, method: body ? 'POST' : 'GET', headers: body ? { 'content-type': 'application/x-www-form-urlencoded' } : {} }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('desk over TLS: a site client certificate signs in and is the operator; none, or a foreign one, does not', async (t) => {
  const dir = tempDir(t, 'radseal-desk-tls-');
  const study = await makeStudy(dir);
  issue(dir, 'ca', 'radseal test site CA', null, '');
  const server = issue(dir, 'server', '127.0.0.1', join(dir, 'ca'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  const bob = issue(dir, 'bob', 'pacs-admin-bob', join(dir, 'ca'), 'extendedKeyUsage=clientAuth\n');
  issue(dir, 'rogue-ca', 'someone else', null, '');
  const rogue = issue(dir, 'rogue', 'pacs-admin-bob', join(dir, 'rogue-ca'), 'extendedKeyUsage=clientAuth\n');

  const quarantine = join(dir, 'q');
  const audit = new AuditLog(join(dir, 'audit.jsonl'));
  t.after(() => audit.close());
  const ingestor = new Ingestor({ trust: parseCertificates(readFileSync(study.ids.trustPem)), quarantineDir: quarantine, audit, onNonAuthentic: 'reject' });
  const { fileSha256 } = await ingestor.ingest(study.bytes[3]!, { via: 'c-store', ae: 'DXROOM3', host: null });

  const desk = await startDesk({ host: '127.0.0.1', port: 0, quarantineDir: quarantine, audit,
    tls: { key: readFileSync(server.key), cert: readFileSync(server.cert), clientCa: readFileSync(join(dir, 'ca.crt')) } });
  t.after(() => desk.close());
  const ca = readFileSync(join(dir, 'ca.crt'));
  const asBob = { ca, key: readFileSync(bob.key), cert: readFileSync(bob.cert) };

  const none = await get(desk.url, { ca });
  assert.equal(none.status, 401);
  assert.match(none.text, /client certificate issued by the site CA/);
  assert.doesNotMatch(none.text, /data-id=/);
  const foreign = await get(desk.url, { ca, key: readFileSync(rogue.key), cert: readFileSync(rogue.cert) });
  assert.equal(foreign.status, 401, 'a certificate from another CA, even with the same CN, does not sign in');
  assert.equal((await get(`${desk.url}object/${fileSha256}/delete`, { ca }, 'reason=no+certificate&csrf=x')).status, 401);

  const list = await get(desk.url, asBob);
  assert.equal(list.status, 200);
  assert.match(list.text, /cert:pacs-admin-bob/);
  assert.match(list.text, new RegExp(`data-id="${fileSha256}"`));
  const csrf = /name="csrf" value="([0-9a-f]{64})"/.exec(list.text)![1]!;
  const done = await get(`${desk.url}object/${fileSha256}/delete`, asBob, `csrf=${csrf}&reason=${encodeURIComponent('Test object sent by mistake')}`);
  assert.equal(done.status, 200);
  assert.match(done.text, /Deleted \(audit record #2\)/);
  assert.deepEqual(readdirSync(quarantine).filter((f) => f.endsWith('.dcm')), []);
  const rec = readAuditRecords(join(dir, 'audit.jsonl')).records[1] as unknown as Record<string, unknown>;
  assert.deepEqual([rec.kind, rec.action, rec.operator, rec.reason, rec.fileSha256], ['admin', 'quarantine-delete', 'cert:pacs-admin-bob', 'Test object sent by mistake', fileSha256]);
});
