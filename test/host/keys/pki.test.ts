// Site PKI end to end through the built CLI, with OpenSSL as the independent
// oracle for certificates and CRLs: init, issue, seal, bundle, verify,
// revoke (before / after the signature, both revocation modes, a whole device
// after a key compromise), stale and forged revocation lists, certificate
// profiles, key-file hygiene. The rules one by one: trust-rules.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { radseal, run, tempDir, type Run } from '../support/run.js';
import { parseCertificates, decideTrust, parseCertificate, type TrustSet } from '../../../host/keys/certs.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { sealFrame } from '../../../host/seal/seal.js';
import { loadDeviceIdentity, loadTechnologist } from '../../../host/seal/device.js';
import { readCertificateDer } from '../../../host/keys/provision.js';
import { openCa, initCa } from '../../../host/keys/pki/ca.js';
import { buildCrl, parseCrl } from '../../../host/keys/pki/crl.js';
import { issueCertificate } from '../../../host/keys/x509.js';
import { newSeed, seedSigner } from '../../../host/keys/ed25519.js';
import { fromPemAll, toPem } from '../../../host/keys/pem.js';
import { sha256 } from '../../../host/core/hash.js';
import { pixelBytes } from '../../../host/dicom/dx.js';
import { EKU_DEVICE, EKU_PACS, EKU_TECHNOLOGIST, POLICY_SITE_PKI_V1 } from '../../../host/keys/pki/profiles.js';

const dir = tempDir('radseal-pki-');
const ca = join(dir, 'ca');
const dev = join(dir, 'dev');
const dev2 = join(dir, 'dev2');
const tech = join(dir, 'tech');
const bundle = join(dir, 'trust.pem');
const TECH_PIN = 'tech-pin-Zq81x';
const CA_PIN = 'ca-pin-Hh27w';
process.env.RADSEAL_TEST_TECH_PIN = TECH_PIN;
process.env.RADSEAL_TEST_CA_PIN = CA_PIN;

const ok = (r: Run, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });

function frameFile(name: string, rows = 48, cols = 40): string {
  const px = new Uint16Array(rows * cols).map((_, i) => (i * 37) & 0xfff);
  const path = join(dir, name);
  writeFileSync(path, new Uint8Array(px.buffer));
  return path;
}

function seal(out: string, keyDir = dev, extra: string[] = []): void {
  ok(radseal('seal', '--key', join(keyDir, 'device.key'), '--cert', join(keyDir, 'device.crt'), '--in', frameFile(`${out}.raw`),
    '--rows', '48', '--cols', '40', '--bits-stored', '12', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--out', join(dir, out), ...extra), `seal ${out}`);
}

function verify(file: string, ...extra: string[]) {
  const r = radseal('verify', join(dir, file), '--trust', bundle, '--json', ...extra);
  assert.ok(r.stdout, r.stderr);
  return { code: r.code, report: JSON.parse(r.stdout), stderr: r.stderr };
}

test('pki init: CA key 0600 (PIN-encrypted), CA certificate, empty signed CRL, site watermark key; never over an existing CA', () => {
  ok(radseal('pki', 'init', '--site', 'St Elsewhere', '--out', ca, '--ca-pin-env', 'RADSEAL_TEST_CA_PIN'), 'init');
  assert.equal(statSync(join(ca, 'ca.key')).mode & 0o777, 0o600);
  assert.match(readFileSync(join(ca, 'ca.key'), 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  assert.equal(statSync(join(ca, 'watermark.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(ca, 'watermark.key')).size, 32);
  const text = openssl('x509', '-in', 'ca/ca.crt', '-noout', '-text').stdout;
  assert.match(text, /CA:TRUE, pathlen:0/);
  assert.match(text, /Certificate Sign, CRL Sign/);
  assert.doesNotMatch(text, /Digital Signature/, 'the CA key only signs certificates and CRLs');
  assert.match(text, new RegExp(`Policy: ${POLICY_SITE_PKI_V1.replace(/\./g, '\\.')}`));
  // OpenSSL checks the CRL's Ed25519 signature with the CA certificate.
  const crl = openssl('crl', '-in', 'ca/crl.pem', '-CAfile', 'ca/ca.crt', '-noout', '-text');
  assert.match(crl.stderr + crl.stdout, /verify OK/);
  assert.match(crl.stdout, /No Revoked Certificates/);
  assert.match(crl.stdout, /X509v3 CRL Number: \n\s+1\b/);
  const again = radseal('pki', 'init', '--site', 'St Elsewhere', '--out', ca, '--ca-pin-env', 'RADSEAL_TEST_CA_PIN');
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already holds a CA/);
  const wrong = radseal('pki', 'issue-device', '--ca', ca, '--id', 'DX-X', '--out', join(dir, 'nope'));
  assert.equal(wrong.code, 2, 'an encrypted CA key needs its PIN');
  assert.match(wrong.stderr, /PIN-protected/);
});

test('pki issue-device / issue-technologist: CA-issued certificates OpenSSL verifies against the CA and CRL, with distinct profiles', () => {
  const pin = ['--ca-pin-env', 'RADSEAL_TEST_CA_PIN'];
  ok(radseal('pki', 'issue-device', '--ca', ca, '--id', 'DX-3', '--out', dev, '--ecdsa', ...pin), 'issue-device');
  ok(radseal('pki', 'issue-device', '--ca', ca, '--id', 'DX-4', '--out', dev2, ...pin), 'issue-device 2');
  const noPin = radseal('pki', 'issue-technologist', '--ca', ca, '--id', 'T123', '--name', 'Doe^Jane', '--out', tech, ...pin);
  assert.equal(noPin.code, 2, 'a technologist key without PIN or token is refused');
  ok(radseal('pki', 'issue-technologist', '--ca', ca, '--id', 'T123', '--name', 'Doe^Jane', '--out', tech, '--pin-env', 'RADSEAL_TEST_TECH_PIN', ...pin), 'issue-technologist');
  for (const f of [join(dev, 'device.key'), join(dev, 'device-ecdsa.key'), join(tech, 'T123.key')]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
  assert.match(readFileSync(join(tech, 'T123.key'), 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  const v = openssl('verify', '-crl_check', '-CAfile', 'ca/ca.crt', '-CRLfile', 'ca/crl.pem', 'dev/device.crt', 'dev/device-ecdsa.crt', 'tech/T123.crt');
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const d = openssl('x509', '-in', 'dev/device.crt', '-noout', '-text').stdout;
  const t = openssl('x509', '-in', 'tech/T123.crt', '-noout', '-text').stdout;
  assert.match(d, /Subject: O = St Elsewhere, OU = radseal device, CN = DX-3/);
  assert.match(t, /Subject: O = St Elsewhere, OU = radseal technologist, SN = Doe, GN = Jane, CN = T123/);
  assert.ok(d.includes(EKU_DEVICE) && !d.includes(EKU_TECHNOLOGIST));
  assert.ok(t.includes(EKU_TECHNOLOGIST) && !t.includes(EKU_DEVICE));
  assert.match(d, /CA:FALSE/);
  const again = radseal('pki', 'issue-device', '--ca', ca, '--id', 'DX-3', '--out', dev, ...pin);
  assert.equal(again.code, 2, 'never overwrites a key');
});

test('pki issue-pacs: PACS signer key 0600 and a certificate with the PACS profile that OpenSSL verifies; it signs as the PACS only', () => {
  const pin = ['--ca-pin-env', 'RADSEAL_TEST_CA_PIN'];
  const pacs = join(dir, 'pacs');
  ok(radseal('pki', 'issue-pacs', '--ca', ca, '--id', 'PACS-MAIN', '--out', pacs, ...pin), 'issue-pacs');
  assert.equal(statSync(join(pacs, 'pacs.key')).mode & 0o777, 0o600);
  const text = openssl('x509', '-in', 'pacs/pacs.crt', '-noout', '-text').stdout;
  assert.match(text, /Subject: O = St Elsewhere, OU = radseal PACS, CN = PACS-MAIN/);
  assert.ok(text.includes(EKU_PACS) && !text.includes(EKU_DEVICE) && !text.includes(EKU_TECHNOLOGIST));
  assert.match(text, /CA:FALSE/);
  const v = openssl('verify', '-crl_check', '-CAfile', 'ca/ca.crt', '-CRLfile', 'ca/crl.pem', 'pacs/pacs.crt');
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.equal(radseal('pki', 'issue-pacs', '--ca', ca, '--id', 'PACS-MAIN', '--out', pacs, ...pin).code, 2, 'never overwrites a key');
  assert.equal(radseal('pki', 'issue-pacs', '--ca', ca, '--id', 'bad id', '--out', join(dir, 'pacs-bad'), ...pin).code, 2);
  assert.match(radseal('pki', 'list', '--ca', ca).stdout, /pacs +PACS-MAIN +Ed25519 +file/);
  const trust = parseCertificates(Buffer.from(readFileSync(join(ca, 'ca.crt'), 'utf8') + readFileSync(join(ca, 'crl.pem'), 'utf8')));
  const c = parseCertificate(readCertificateDer(join(pacs, 'pacs.crt')));
  assert.equal(decideTrust(c, trust, new Date(), { role: 'pacs' }).trusted, true);
  assert.match(decideTrust(c, trust, new Date(), { role: 'device' }).reason, /has the PACS signer profile; it cannot sign as the device/);
});

test('keygen: self-signed device (Ed25519, ECDSA) and technologist certificates carry their role EKU', () => {
  const k = join(dir, 'kg');
  ok(radseal('keygen', '--id', 'DX-KG', '--out', k, '--ecdsa'), 'keygen');
  process.env.RADSEAL_TEST_KG_PIN = 'kg-pin-1';
  ok(radseal('keygen', '--technologist', '--id', 'T-KG', '--out', k, '--pin-env', 'RADSEAL_TEST_KG_PIN'), 'keygen --technologist');
  for (const [f, eku] of [['device.crt', EKU_DEVICE], ['device-ecdsa.crt', EKU_DEVICE], ['T-KG.crt', EKU_TECHNOLOGIST]] as const) {
    const text = openssl('x509', '-in', join('kg', f), '-noout', '-text').stdout;
    assert.match(text, new RegExp(`X509v3 Extended Key Usage: \\n\\s+${eku.replace(/\./g, '\\.')}\\n`), f);
  }
});

test('bundle + verify: CA-issued device and technologist signatures are authentic; JSON keeps its fields and adds trust detail', () => {
  ok(radseal('pki', 'bundle', '--ca', ca, '--out', bundle, '--ca-pin-env', 'RADSEAL_TEST_CA_PIN'), 'bundle');
  const pem = readFileSync(bundle, 'utf8');
  assert.equal(fromPemAll(pem, 'CERTIFICATE').length, 1);
  assert.equal(fromPemAll(pem, 'X509 CRL').length, 1);
  seal('a.dcm', dev, ['--ecdsa-key', join(dev, 'device-ecdsa.key'), '--ecdsa-cert', join(dev, 'device-ecdsa.crt'),
    '--tech-key', join(tech, 'T123.key'), '--tech-cert', join(tech, 'T123.crt'), '--tech-pin-env', 'RADSEAL_TEST_TECH_PIN']);
  const { code, report } = verify('a.dcm', '--require-technologist');
  assert.equal(code, 0, JSON.stringify(report.reasons));
  assert.equal(report.verdict, 'authentic');
  for (const k of ['algorithm', 'purpose', 'signer', 'valid', 'trusted', 'time', 'trustReason', 'revocation']) assert.ok(k in report.signatures[0], k);
  assert.equal(report.technologist.operatorsName, 'Doe^Jane', "Operators' Name taken from the certificate's SN/GN");
  for (const d of report.signatures) {
    assert.equal(d.revocation, 'not-revoked');
    assert.equal(d.trustReason, 'issued by trusted CA St Elsewhere radseal CA');
  }
  // DCMTK checks the device's ECDSA signature up to the Ed25519 site CA (OpenSSL underneath), and not without it.
  const withCa = run('dcmsign', ['--verify', '+cf', join(ca, 'ca.crt'), join(dir, 'a.dcm')]);
  assert.match(withCa.stdout + withCa.stderr, /Signature #3 UID=[\d.]+\nW: +Signature Verification : OK/);
  const withoutCa = run('dcmsign', ['--verify', join(dir, 'a.dcm')]);
  assert.match(withoutCa.stdout + withoutCa.stderr, /Signature #3 UID=[\d.]+\nW: +Signature Verification : signature is OK but certificate verification failed: unable to get local issuer certificate/);
  // A bundle of the CA certificate alone: revocation cannot be checked, so CA-issued signers are not trusted…
  writeFileSync(join(dir, 'ca-only.pem'), readFileSync(join(ca, 'ca.crt')));
  const r = radseal('verify', join(dir, 'a.dcm'), '--trust', join(dir, 'ca-only.pem'), '--json');
  assert.equal(r.code, 1);
  const rep = JSON.parse(r.stdout);
  assert.equal(rep.verdict, 'untrusted');
  assert.match(rep.reasons.join('\n'), /holds no revocation list from CA St Elsewhere radseal CA/);
  assert.equal(rep.signatures[0]!.revocation, 'unavailable');
  // …unless the site says so explicitly.
  assert.equal(radseal('verify', join(dir, 'a.dcm'), '--trust', join(dir, 'ca-only.pem'), '--allow-missing-crl').code, 0);
});

/** The signature DateTime of the first signature in a sealed file, from verify's JSON. */
const signedAt = (file: string) => new Date(verify(file).report.signatures[0].time);

const sleep = (ms: number) => { if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); };

test('revoke superseded: a signature dated before the revocation stays trusted (and says its date is signer-asserted); after it, refused; --revocation any refuses both', () => {
  const pin = ['--ca-pin-env', 'RADSEAL_TEST_CA_PIN'];
  seal('before.dcm', dev2);
  sleep(signedAt('before.dcm').getTime() + 1100 - Date.now()); // the revocation lies after the signature (CRL times count whole seconds)
  const rv = radseal('pki', 'revoke', '--ca', ca, '--cert', join(dev2, 'device.crt'), '--reason', 'superseded', ...pin);
  ok(rv, 'revoke');
  const revokeAt = new Date(/from (\S+) \(superseded\)/.exec(rv.stdout)![1]!);
  assert.equal(radseal('pki', 'revoke', '--ca', ca, '--cert', join(dev2, 'device.crt'), ...pin).code, 2, 'revoking twice is refused');
  ok(radseal('pki', 'bundle', '--ca', ca, '--out', bundle, ...pin), 'bundle');
  // OpenSSL agrees the certificate is revoked, and prints the entry we meant.
  const crlText = openssl('crl', '-in', 'ca/crl.pem', '-noout', '-text').stdout;
  const serial = parseCertificate(readCertificateDer(join(dev2, 'device.crt'))).x509.serialNumber;
  assert.match(crlText, new RegExp(`Serial Number: ${serial}\\s+Revocation Date: [^\\n]+\\n\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code: \\n\\s+Superseded`));
  const ov = openssl('verify', '-crl_check', '-CAfile', 'ca/ca.crt', '-CRLfile', 'ca/crl.pem', 'dev2/device.crt');
  assert.notEqual(ov.code, 0);
  assert.match(ov.stdout + ov.stderr, /certificate revoked/);

  const before = verify('before.dcm');
  assert.equal(before.report.verdict, 'authentic', before.report.reasons.join('\n'));
  assert.equal(before.report.signatures[0]!.revocation, 'revoked');
  const at = revokeAt.toISOString().replace(/\.\d+Z$/, 'Z');
  assert.match(before.report.reasons.join('\n'), new RegExp(`certificate of DX-4 was revoked at ${at} \\(superseded\\); signature dated [^,]+, before it — that date is the signer's own claim`));
  const strict = verify('before.dcm', '--revocation', 'any');
  assert.equal(strict.code, 1);
  assert.equal(strict.report.verdict, 'untrusted');
  assert.match(strict.report.reasons.join('\n'), /policy refuses every signature by a revoked certificate/);

  // The retired key keeps signing: its new signatures carry dates after the revocation.
  seal('after.dcm', dev2);
  const after = verify('after.dcm');
  assert.equal(after.report.verdict, 'untrusted');
  assert.match(after.report.reasons.join('\n'), /certificate of DX-4 was revoked at [^ ]+ \(superseded\); signature dated [^ ]+, after it/);
  assert.equal(after.report.signatures[0].trusted, false);
  // Other devices are unaffected.
  assert.equal(verify('a.dcm').report.verdict, 'authentic');
});

test('revoke --device after a key compromise: every certificate of the device goes on the list, and the signer\'s own date no longer saves a signature made before it', () => {
  const pin = ['--ca-pin-env', 'RADSEAL_TEST_CA_PIN'];
  const dev5 = join(dir, 'dev5');
  ok(radseal('pki', 'issue-device', '--ca', ca, '--id', 'DX-5', '--out', dev5, '--ecdsa', ...pin), 'issue-device DX-5');
  ok(radseal('pki', 'bundle', '--ca', ca, '--out', bundle, ...pin), 'bundle');
  seal('stolen.dcm', dev5);
  assert.equal(verify('stolen.dcm').report.verdict, 'authentic', 'positive control');
  sleep(signedAt('stolen.dcm').getTime() + 1100 - Date.now());
  assert.equal(radseal('pki', 'revoke', '--ca', ca, '--device', 'DX-5', '--cert', join(dev5, 'device.crt'), ...pin).code, 2, 'one target at a time');
  const rv = radseal('pki', 'revoke', '--ca', ca, '--device', 'DX-5', '--reason', 'keyCompromise', ...pin);
  ok(rv, 'revoke --device');
  assert.equal(rv.stdout.match(/^revoked DX-5 \(serial [0-9A-F]+\) from \S+ \(keyCompromise\)$/gm)?.length, 2, rv.stdout);
  ok(radseal('pki', 'bundle', '--ca', ca, '--out', bundle, ...pin), 'bundle');
  const ov = openssl('verify', '-crl_check', '-CAfile', 'ca/ca.crt', '-CRLfile', 'ca/crl.pem', 'dev5/device.crt', 'dev5/device-ecdsa.crt');
  assert.equal((ov.stdout + ov.stderr).match(/certificate revoked/g)?.length, 2, ov.stdout + ov.stderr);
  const v = verify('stolen.dcm');
  assert.equal(v.report.verdict, 'untrusted');
  assert.match(v.report.reasons.join('\n'), /certificate of DX-5 was revoked at [^ ]+ \(keyCompromise\); after keyCompromise the key may be in other hands, so the signature's own date \(signature dated [^)]+\) proves nothing, and no certified timestamp \(RFC 3161\) shows it existed before the revocation/);
  assert.match(radseal('pki', 'list', '--ca', ca).stdout, /device +DX-5 +ECDSA-P256 .*REVOKED from .*\(keyCompromise\)/);
});

test('revoke --time in the past reaches back, and revoking one certificate reaches the device: superseded ECDSA key, its Ed25519 contemporary refused too, the successor enrolment untouched', () => {
  const pin = ['--ca-pin-env', 'RADSEAL_TEST_CA_PIN'];
  const dev6 = join(dir, 'dev6'), dev6b = join(dir, 'dev6b');
  ok(radseal('pki', 'issue-device', '--ca', ca, '--id', 'DX-6', '--out', dev6, '--ecdsa', ...pin), 'issue DX-6');
  ok(radseal('pki', 'bundle', '--ca', ca, '--out', bundle, ...pin), 'bundle');
  seal('six.dcm', dev6, ['--ecdsa-key', join(dev6, 'device-ecdsa.key'), '--ecdsa-cert', join(dev6, 'device-ecdsa.crt')]);
  assert.equal(verify('six.dcm').report.verdict, 'authentic', 'positive control');
  ok(radseal('pki', 'issue-device', '--ca', ca, '--id', 'DX-6', '--out', dev6b, ...pin), 'rotate: new enrolment of DX-6');
  const back = new Date(signedAt('six.dcm').getTime() - 3_600_000).toISOString();
  writeFileSync(join(dir, 'old-crl.pem'), readFileSync(join(ca, 'crl.pem'))); // the list as it was before this revocation
  const r = radseal('pki', 'revoke', '--ca', ca, '--cert', join(dev6, 'device-ecdsa.crt'), '--reason', 'superseded', '--time', back, ...pin);
  ok(r, 'revoke ecdsa');
  const [ed, edNew] = [dev6, dev6b].map((d) => parseCertificate(readCertificateDer(join(d, 'device.crt'))).x509.serialNumber);
  assert.match(r.stdout, new RegExp(`note: radseal verify also refuses DX-6's Ed25519 device certificate serial ${ed} \\(same device\\)`), r.stdout);
  assert.match(r.stdout, new RegExp(`note: DX-6's Ed25519 device certificate serial ${edNew} stays valid \\(issued after the superseded certificate: its successor\\)`), r.stdout);
  assert.equal(radseal('pki', 'revoke', '--ca', ca, '--cert', join(dev, 'device.crt'), '--time', 'yesterday', ...pin).code, 2);
  assert.equal(radseal('pki', 'revoke', '--ca', ca, '--cert', join(dev, 'device.crt'), '--time', new Date(Date.now() + 86_400_000).toISOString(), ...pin).code, 2, 'no future revocation');
  ok(radseal('pki', 'bundle', '--ca', ca, '--out', bundle, ...pin), 'bundle');
  const v = verify('six.dcm');
  assert.equal(v.report.verdict, 'untrusted');
  const reasons = v.report.reasons.join('\n');
  assert.match(reasons, /ECDSA-P256, DX-6\): certificate of DX-6 was revoked at [^ ]+ \(superseded\); signature dated [^ ]+, after it/);
  assert.match(reasons, /Ed25519, DX-6\): device DX-6 was revoked at [^ ]+ \(superseded, certificate serial [0-9A-F]+\); this certificate \(serial [0-9A-F]+\) belongs to the same device; signature dated [^ ]+, after it/);
  seal('six-new.dcm', dev6b);
  assert.equal(verify('six-new.dcm').report.verdict, 'authentic', 'the successor key signs on');
  assert.equal(verify('a.dcm').report.verdict, 'authentic', 'other devices are untouched');
  // A certificate from another CA cannot be revoked here.
  const other = join(dir, 'other');
  ok(radseal('keygen', '--id', 'DX-9', '--out', other), 'keygen');
  const foreign = radseal('pki', 'revoke', '--ca', ca, '--cert', join(other, 'device.crt'), ...pin);
  assert.equal(foreign.code, 2);
  assert.match(foreign.stderr, /was not issued by this CA/);
});

test('a stale, future-dated or forged revocation list is never used to vouch', async () => {
  const bytes = readFileSync(bundle);
  const sealed = readFileSync(join(dir, 'a.dcm'));
  const fresh = parseCertificates(bytes);
  assert.equal(fresh.crls?.length, 1);
  assert.equal(verifyObject('a', sealed, fresh).verdict, 'authentic');
  const r = verifyObject('a', sealed, fresh, { now: new Date(Date.now() + 31 * 86_400_000) });
  assert.equal(r.verdict, 'untrusted');
  assert.match(r.reasons.join('\n'), /revocation list from CA St Elsewhere radseal CA \(number \d+\) expired at [^ ]+ \(nextUpdate\); load a fresh trust bundle/);
  // A verifier whose clock is an hour behind: the CRL is dated in its future (and so is the signature).
  const hourAgo = new Date(Date.now() - 3_600_000);
  const early = decideTrust(parseCertificate(readCertificateDer(join(dev, 'device.crt'))), fresh, new Date(), { role: 'device', signedAt: new Date(hourAgo.getTime() - 60_000), now: hourAgo });
  assert.match(early.reason, /revocation list from CA St Elsewhere radseal CA \(number \d+\) is dated [^ ]+, in the future; check the clocks/);
  assert.match(verifyObject('a', sealed, fresh, { now: hourAgo }).reasons.join('\n'), /is dated [^ ]+, in the future \(this clock reads [^ ]+, tolerance 5 min\)/);

  // One flipped bit in the CRL signature, or a CRL signed by another key under the same CA name: the bundle is refused.
  const [crlDer] = fromPemAll(bytes.toString('latin1'), 'X509 CRL');
  const flipped = Uint8Array.from(crlDer!);
  flipped[flipped.length - 5]! ^= 0x01;
  const caPem = readFileSync(join(ca, 'ca.crt'), 'utf8');
  assert.throws(() => parseCertificates(Buffer.from(caPem + toPem('X509 CRL', flipped))), /not signed by any CA certificate in it/);
  const impostor = seedSigner(newSeed());
  const forged = await buildCrl(readCertificateDer(join(ca, 'ca.crt')), impostor, { thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 86_400_000), crlNumber: 999, entries: [] });
  assert.throws(() => parseCertificates(Buffer.from(caPem + toPem('X509 CRL', forged))), /not signed by any CA certificate in it/);
  const cli = radseal('verify', join(dir, 'a.dcm'), '--trust', (writeFileSync(join(dir, 'forged.pem'), caPem + toPem('X509 CRL', forged)), join(dir, 'forged.pem')));
  assert.equal(cli.code, 2);
  assert.match(cli.stderr, /trust file .*forged\.pem: revocation list #1 in the trust bundle is not signed by any CA/);
  // An older CRL (lower number) beside the newest does not resurrect a revoked certificate.
  const ecdsaCrt = parseCertificate(readCertificateDer(join(dir, 'dev6', 'device-ecdsa.crt')));
  const oldCrl = readFileSync(join(dir, 'old-crl.pem'), 'utf8');
  const both = parseCertificates(Buffer.from(readFileSync(bundle, 'utf8') + oldCrl));
  assert.equal(both.crls?.length, 2);
  const d = decideTrust(ecdsaCrt, both, new Date(), { role: 'device' });
  assert.equal(d.trusted, false);
  assert.equal(d.revocation, 'revoked');
});

test('certificate profiles: a technologist certificate cannot sign as the device, a device certificate not as the technologist, the CA key not at all', async () => {
  const trust = parseCertificates(readFileSync(bundle));
  const frame = { rows: 16, cols: 16, bitsStored: 12, pixels: new Uint16Array(256).fill(100) };
  const base = { frame, rawFrameSha256: sha256(pixelBytes(frame.pixels)), frameSerial: 1, meta: { patientId: 'P1', patientName: 'A^B' } };
  const techId = loadTechnologist(join(tech, 'T123.key'), join(tech, 'T123.crt'), TECH_PIN);
  // Technologist key posing as a device whose id is the technologist's CN.
  const posing = await sealFrame(base, { deviceId: 'T123', boardId: 'x', signer: techId.signer, certificateDer: techId.certificateDer });
  const p = verifyObject('posing', posing.bytes, trust);
  assert.equal(p.verdict, 'untrusted');
  assert.match(p.reasons.join('\n'), /certificate of T123 has the technologist profile; it cannot sign as the device \(purpose 14, Source\)/);
  // Device key posing as the technologist.
  const device = loadDeviceIdentity(join(dev, 'device.key'), join(dev, 'device.crt'));
  const asTech = await sealFrame({ ...base, technologist: { operatorId: 'DX-3', signer: device.signer, certificateDer: device.certificateDer } }, device);
  const t = verifyObject('astech', asTech.bytes, trust, { policy: { ...(await import('../../../host/ingest/policy.js')).DEFAULT_POLICY, requireTechnologistSignature: true } });
  assert.equal(t.verdict, 'untrusted');
  assert.match(t.reasons.join('\n'), /certificate of DX-3 has the device profile; it cannot sign as the technologist \(purpose 1, Author\)/);
  // The CA key signing an image directly, and a certificate the CA issued without a radseal profile.
  const caId = openCa(ca, CA_PIN);
  const byCa = await sealFrame(base, { deviceId: caId.cert.commonName, boardId: 'x', signer: caId.signer, certificateDer: caId.cert.der });
  assert.match(verifyObject('byca', byCa.bytes, trust).reasons.join('\n'), /is the site CA's: a CA key issues certificates and never signs images/);
  const seed = newSeed();
  const bare = await issueCertificate({ subject: { commonName: 'DX-BARE' }, subjectPublicKey: seedSigner(seed).publicKey, issuerSigner: caId.signer, issuerCertificateDer: caId.cert.der });
  const bareSealed = await sealFrame(base, { deviceId: 'DX-BARE', boardId: 'x', signer: seedSigner(seed), certificateDer: bare });
  const b = verifyObject('bare', bareSealed.bytes, trust);
  assert.equal(b.verdict, 'untrusted');
  assert.match(b.reasons.join('\n'), /issued by site CA St Elsewhere radseal CA without a radseal device profile/);
  // Self-signed keygen certificates (no profile) keep working as before when pinned.
  assert.equal(decideTrust(parseCertificate(readCertificateDer(join(dir, 'other', 'device.crt'))), parseCertificates(readFileSync(join(dir, 'other', 'device.crt'))), new Date(), { role: 'device' }).trusted, true);
});

test('hygiene: key files readable by others are refused, the CA lock serialises changes, PINs and key bytes never reach output', () => {
  const pin = ['--ca-pin-env', 'RADSEAL_TEST_CA_PIN'];
  chmodSync(join(ca, 'ca.key'), 0o640);
  const loose = radseal('pki', 'issue-device', '--ca', ca, '--id', 'DX-7', '--out', join(dir, 'dev7'), ...pin);
  assert.equal(loose.code, 2);
  assert.match(loose.stderr, /accessible by others \(mode 640\); run: chmod 600/);
  chmodSync(join(ca, 'ca.key'), 0o600);
  writeFileSync(join(ca, '.lock'), '');
  const locked = radseal('pki', 'issue-device', '--ca', ca, '--id', 'DX-7', '--out', join(dir, 'dev7'), ...pin);
  assert.equal(locked.code, 2);
  assert.match(locked.stderr, /is locked by another radseal pki command/);
  rmSync(join(ca, '.lock'));
  // Wrong PINs: plain messages, without the PIN that was tried.
  process.env.RADSEAL_TEST_WRONG = 'wrong-pin-Qp0';
  const wrongCa = radseal('pki', 'bundle', '--ca', ca, '--out', join(dir, 'x.pem'), '--ca-pin-env', 'RADSEAL_TEST_WRONG');
  assert.equal(wrongCa.code, 2);
  assert.match(wrongCa.stderr, /wrong PIN or damaged key file/);
  const wrongTech = radseal('seal', '--key', join(dev, 'device.key'), '--cert', join(dev, 'device.crt'), '--in', frameFile('w.raw'), '--rows', '48', '--cols', '40',
    '--bits-stored', '12', '--out', join(dir, 'w.dcm'), '--tech-key', join(tech, 'T123.key'), '--tech-cert', join(tech, 'T123.crt'), '--tech-pin-env', 'RADSEAL_TEST_WRONG');
  assert.equal(wrongTech.code, 2);
  assert.ok(!existsSync(join(dir, 'w.dcm')));
  // Everything the CLI printed in this file's runs, plus these, must not hold a PIN or any private key bytes.
  const secrets = [TECH_PIN, CA_PIN, 'wrong-pin-Qp0', ...privateKeyStrings(join(dev, 'device.key')), ...privateKeyStrings(join(dev2, 'device.key'))];
  const out = [loose, locked, wrongCa, wrongTech, radseal('pki', 'list', '--ca', ca)].map((r) => r.stdout + r.stderr).join('\n');
  assert.match(out, /DX-4 .* REVOKED from/);
  for (const s of secrets) assert.ok(!out.includes(s), 'a secret appeared in CLI output');
  assert.ok(!readFileSync(join(ca, 'ca.json'), 'utf8').includes('PRIVATE'), 'the CA state file holds no key');
});

/** The base64 body and hex/base64 of the raw seed of a plain Ed25519 PKCS#8 key file. */
function privateKeyStrings(path: string): string[] {
  const [der] = fromPemAll(readFileSync(path, 'latin1'), 'PRIVATE KEY');
  const seed = Buffer.from(der!.subarray(16));
  return [Buffer.from(der!).toString('base64'), seed.toString('hex'), seed.toString('base64')];
}

test('library: CRL round trip through OpenSSL parsing, reasons and serials with a high bit', async () => {
  const d = join(dir, 'lib');
  await initCa({ site: 'Lib Site', dir: d, crlDays: 1 });
  const caId = openCa(d);
  const entries = [
    { serial: 'FF01', revokedAt: new Date('2026-01-02T03:04:05Z'), reason: 'superseded' as const },
    { serial: '0A0B0C', revokedAt: new Date('2026-01-01T00:00:00Z'), reason: 'unspecified' as const, invalidSince: new Date('2025-12-24T00:00:00Z') },
  ];
  const der = await buildCrl(caId.cert.der, caId.signer, { thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 86_400_000), crlNumber: 7, entries });
  const back = parseCrl(der);
  assert.equal(back.crlNumber, 7);
  assert.deepEqual(back.entries.map((e) => [e.serial, e.reason, e.revokedAt.toISOString(), e.invalidSince?.toISOString()]), [
    ['0A0B0C', 'unspecified', '2026-01-01T00:00:00.000Z', '2025-12-24T00:00:00.000Z'],
    ['FF01', 'superseded', '2026-01-02T03:04:05.000Z', undefined],
  ]);
  writeFileSync(join(d, 'c.pem'), toPem('X509 CRL', der));
  const text = run('openssl', ['crl', '-in', join(d, 'c.pem'), '-CAfile', join(d, 'ca.crt'), '-noout', '-text']);
  assert.match(text.stderr + text.stdout, /verify OK/);
  assert.match(text.stdout, /Serial Number: FF01\s+Revocation Date: Jan  2 03:04:05 2026 GMT\s+CRL entry extensions:\s+X509v3 CRL Reason Code: \n\s+Superseded/);
  assert.match(text.stdout, /Serial Number: 0A0B0C\s+Revocation Date: Jan  1 00:00:00 2026 GMT\s+CRL entry extensions:\s+Invalidity Date: \n\s+Dec 24 00:00:00 2025 GMT/);
});
