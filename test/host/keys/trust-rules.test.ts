// The trust rules decideTrust applies, one by one, each with a case that passed
// before the rule existed: roles come from the certificate's extended key usage
// (never from being in the trust bundle); a compromised key's signatures need a
// certified time before the revocation; future-dated signatures are refused;
// revoking one certificate of a device revokes the device. Certificates come
// from the site CA and `radseal keygen` code, from OpenSSL (a real TSA, DCMTK-
// style certificates), and OpenSSL checks the CRLs radseal writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tempDir } from '../support/run.js';
import { startTsa, type TestTsa } from '../support/tsa.js';
import { decideTrust, parseCertificate, parseCertificates, type CertInfo, type TrustOptions, type TrustSet } from '../../../host/keys/certs.js';
import { readCertificateDer, generateDeviceKey, generateEcdsaDeviceKey, generateTechnologistKey } from '../../../host/keys/provision.js';
import { initCa, issueDevice, issuePacs, issueTechnologist, openCa, writeBundle } from '../../../host/keys/pki/ca.js';
import { revoke, revokeIdentity } from '../../../host/keys/pki/revoke.js';
import { buildCrl, normaliseSerial, parseCrl, type RevocationReason, type RevokedEntry } from '../../../host/keys/pki/crl.js';
import { CLOCK_TOLERANCE_MS } from '../../../host/keys/clock.js';
import { EKU_DEVICE, EKU_TECHNOLOGIST, EKU_PACS } from '../../../host/keys/pki/profiles.js';
import { identityOf } from '../../../host/keys/pki/identity.js';
import { p256SecretFromPkcs8, p256Signer } from '../../../host/keys/ecdsa.js';
import { issueCertificate } from '../../../host/keys/x509.js';
import { newSeed, seedSigner } from '../../../host/keys/ed25519.js';
import { toPem } from '../../../host/keys/pem.js';
import { sealFrame } from '../../../host/seal/seal.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { requestTimestamp } from '../../../host/net/tsa-client.js';
import { sha256 } from '../../../host/core/hash.js';
import { pixelBytes } from '../../../host/dicom/dx.js';

const dir = tempDir('radseal-trust-rules-');
const caDir = join(dir, 'ca');
const TECH_PIN = 'tech-pin-rules-7';
const HOUR = 3_600_000;
const cert = (path: string): CertInfo => parseCertificate(readCertificateDer(path));
const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });

let tsa: TestTsa;
let device: CertInfo;
let deviceEcdsa: CertInfo;
let technologist: CertInfo;
let pacs: CertInfo;
let caCert: CertInfo;

test('set-up: site CA with a device (Ed25519 + ECDSA), a technologist and a PACS signer; a real OpenSSL TSA', async () => {
  await initCa({ site: 'Rules Site', dir: caDir });
  await issueDevice({ caDir, deviceId: 'DX-R1', outDir: join(dir, 'dev'), ecdsa: true });
  await issueTechnologist({ caDir, operatorId: 'T77', name: 'Roe^Ann', outDir: join(dir, 'tech'), pin: TECH_PIN });
  await issuePacs({ caDir, pacsId: 'PACS-MAIN', outDir: join(dir, 'pacs') });
  device = cert(join(dir, 'dev', 'device.crt'));
  deviceEcdsa = cert(join(dir, 'dev', 'device-ecdsa.crt'));
  technologist = cert(join(dir, 'tech', 'T77.crt'));
  pacs = cert(join(dir, 'pacs', 'pacs.crt'));
  caCert = cert(join(caDir, 'ca.crt'));
  tsa = await startTsa(join(dir, 'tsa'), 'Rules-TSA');
});

test.after(async () => tsa?.stop());

/** The CA's own bundle (CA certificate + fresh CRL), plus whatever is pinned beside it. */
async function bundle(...pinned: string[]): Promise<TrustSet> {
  const out = join(dir, `bundle-${Math.random().toString(36).slice(2)}.pem`);
  await writeBundle({ caDir, out });
  return parseCertificates(Buffer.from(readFileSync(out, 'utf8') + pinned.map((p) => readFileSync(p, 'utf8')).join('')));
}

/** decideTrust with the certificate's validity checked now: the signature dates under test are in `opts`. */
const trusted = (c: CertInfo, set: CertInfo[], opts: TrustOptions, when = new Date()) => decideTrust(c, set, when, opts);

test('roles come from the certificate: a pinned TSA certificate signs as nothing, a technologist or PACS certificate not as the device', async () => {
  const set = await bundle(tsa.tsaCertPath, tsa.caPath);
  const tsaCert = cert(tsa.tsaCertPath);
  for (const role of ['device', 'device-attributes', 'technologist', 'pacs', 'other'] as const) {
    const d = trusted(tsaCert, set, { role });
    assert.equal(d.trusted, false, role);
    assert.match(d.reason, /certificate of Rules-TSA is a time-stamping authority's \(extended key usage timeStamping\): it certifies times and never signs images/);
  }
  // The TSA's own CA, pinned for the time-stamps, is a CA: it never signs either.
  assert.match(trusted(cert(tsa.caPath), set, { role: 'device' }).reason, /is a CA certificate \(basicConstraints cA\)/);
  const tech = trusted(technologist, set, { role: 'device' });
  assert.equal(tech.trusted, false);
  assert.match(tech.reason, /certificate of T77 has the technologist profile; it cannot sign as the device \(purpose 14, Source\)/);
  assert.match(trusted(pacs, set, { role: 'device' }).reason, /certificate of PACS-MAIN has the PACS signer profile; it cannot sign as the device/);
  assert.match(trusted(pacs, set, { role: 'technologist' }).reason, /cannot sign as the technologist \(purpose 1, Author\)/);
  assert.equal(trusted(pacs, set, { role: 'pacs' }).trusted, true, 'the PACS signer signs as the PACS');
  assert.match(trusted(device, set, { role: 'pacs' }).reason, /certificate of DX-R1 has the device profile; it cannot sign as the PACS \(purpose 5 Verification or 13 Review\)/);
  assert.match(trusted(technologist, set, { role: 'pacs' }).reason, /has the technologist profile; it cannot sign as the PACS/);
  // Positive controls: each in its own role.
  for (const [c, role] of [[device, 'device'], [device, 'device-attributes'], [deviceEcdsa, 'device'], [technologist, 'technologist']] as const) {
    const d = trusted(c, set, { role });
    assert.equal(d.trusted, true, `${c.commonName} as ${role}: ${d.reason}`);
  }
});

test('a forged object sealed with the pinned TSA key as "the device" is not authentic', async () => {
  const set = await bundle(tsa.tsaCertPath);
  const frame = { rows: 16, cols: 16, bitsStored: 12, pixels: new Uint16Array(256).fill(300) };
  const signer = p256Signer(p256SecretFromPkcs8(readFileSync(join(dir, 'tsa', 'tsa.key'), 'utf8')));
  const forged = await sealFrame({ frame, rawFrameSha256: sha256(pixelBytes(frame.pixels)), frameSerial: 1, meta: { patientId: 'P1', patientName: 'A^B' } },
    { deviceId: 'Rules-TSA', boardId: 'x', signer, certificateDer: readCertificateDer(tsa.tsaCertPath) });
  const r = verifyObject('forged', forged.bytes, set);
  assert.notEqual(r.verdict, 'authentic');
  assert.match(r.reasons.join('\n'), /time-stamping authority's .* never signs images/);
});

test('self-signed keygen certificates carry their role EKU and keep working pinned; certificates without a role EKU sign only as "other"', async () => {
  const kg = join(dir, 'keygen');
  const p = await generateDeviceKey('DX-SELF', kg);
  const e = await generateEcdsaDeviceKey('DX-SELF', kg);
  const t = await generateTechnologistKey('T-SELF', kg, TECH_PIN);
  for (const [path, eku] of [[p.cert, EKU_DEVICE], [e.cert, EKU_DEVICE], [t.cert, EKU_TECHNOLOGIST]] as const) {
    const text = openssl('x509', '-in', path, '-noout', '-text').stdout;
    assert.ok(text.includes(eku), `${path} carries ${eku}`);
    assert.match(text, /CA:FALSE/);
  }
  const pinned = parseCertificates(Buffer.from([p.cert, e.cert, t.cert].map((f) => readFileSync(f, 'utf8')).join('')));
  assert.equal(trusted(cert(p.cert), pinned, { role: 'device' }).trusted, true);
  assert.equal(trusted(cert(e.cert), pinned, { role: 'device' }).trusted, true);
  assert.equal(trusted(cert(t.cert), pinned, { role: 'technologist' }).trusted, true);
  assert.match(trusted(cert(t.cert), pinned, { role: 'device' }).reason, /certificate of T-SELF has the technologist profile; it cannot sign as the device/);
  assert.match(trusted(cert(p.cert), pinned, { role: 'technologist' }).reason, /has the device profile; it cannot sign as the technologist/);

  // A DCMTK-style end-entity certificate without any radseal role (OpenSSL-made, CA:FALSE): a signature that vouches for nothing.
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rsa.key', '-out', 'rsa.crt', '-subj', '/CN=DX-SELF', '-days', '2', '-addext', 'basicConstraints=critical,CA:FALSE');
  const rsa = cert(join(dir, 'rsa.crt'));
  const withRsa = parseCertificates(readFileSync(join(dir, 'rsa.crt')));
  assert.equal(trusted(rsa, withRsa, { role: 'other' }).trusted, true);
  assert.equal(trusted(rsa, withRsa, {}).trusted, true, 'no role = other');
  const asDevice = trusted(rsa, withRsa, { role: 'device' });
  assert.equal(asDevice.trusted, false, 'same CN as the device, pinned in the trust file: still not the device');
  assert.match(asDevice.reason, /certificate of DX-SELF carries no radseal device role \(extended key usage [\d.]+\.2\.1\); it cannot sign as the device \(purpose 14, Source\), whatever trust file holds it/);
  assert.equal(trusted(rsa, withRsa, { role: 'technologist' }).trusted, false);
  assert.equal(trusted(rsa, withRsa, { role: 'pacs' }).trusted, false);
  // OpenSSL's default self-signed certificate is a CA (basicConstraints CA:TRUE): it signs nothing, not even as "other".
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca-like.key', '-out', 'ca-like.crt', '-subj', '/CN=DX-SELF', '-days', '2');
  const caLike = cert(join(dir, 'ca-like.crt'));
  assert.match(trusted(caLike, parseCertificates(readFileSync(join(dir, 'ca-like.crt'))), { role: 'other' }).reason, /is a CA certificate/);

  // One certificate claiming two radseal roles signs in neither.
  const seed = newSeed();
  const both = parseCertificate(await issueCertificate({ subject: { commonName: 'DX-TWO' }, subjectPublicKey: seedSigner(seed).publicKey, issuerSigner: seedSigner(seed), extendedKeyUsage: [EKU_DEVICE, EKU_TECHNOLOGIST] }));
  assert.match(trusted(both, [both], { role: 'device' }).reason, /carries several radseal roles \(device, technologist\)/);
  assert.match(trusted(both, [both], { role: 'technologist' }).reason, /carries several radseal roles/);
  const pacsSelf = parseCertificate(await issueCertificate({ subject: { commonName: 'PACS-SELF' }, subjectPublicKey: seedSigner(seed).publicKey, issuerSigner: seedSigner(seed), extendedKeyUsage: [EKU_PACS] }));
  assert.equal(trusted(pacsSelf, [pacsSelf], { role: 'pacs' }).trusted, true, 'a pinned PACS signer certificate signs as the PACS');
});

/** A trust set of the CA certificate and one CRL with these entries, signed by the CA key. */
async function withCrl(entries: RevokedEntry[], mode?: 'signing-time' | 'any'): Promise<TrustSet> {
  const ca = openCa(caDir);
  const der = await buildCrl(ca.cert.der, ca.signer, { thisUpdate: new Date(Date.now() - 60_000), nextUpdate: new Date(Date.now() + 86_400_000), crlNumber: 1000, entries });
  const set = parseCertificates(Buffer.from(toPem('CERTIFICATE', ca.cert.der) + toPem('X509 CRL', der)));
  if (mode) set.revocation = { mode };
  return set;
}

const serialOf = (c: CertInfo) => normaliseSerial(c.x509.serialNumber);
/** A CRL entry revoking `c` from `from`, processed now, naming its identity (as a radseal CA writes it). */
const entryFor = (c: CertInfo, reason: RevocationReason, from: Date): RevokedEntry => ({
  serial: serialOf(c), revokedAt: new Date(), reason, invalidSince: from, identity: { ...identityOf(c)!, issuedAt: c.notBefore },
});

test('keyCompromise, or no reason: the signer\'s own date no longer places a signature before the revocation; a verified certified time does', async () => {
  const R = new Date(Date.now() - HOUR);
  const before = new Date(R.getTime() - HOUR);
  for (const reason of ['keyCompromise', 'unspecified', 'cACompromise', 'privilegeWithdrawn'] as const) {
    const set = await withCrl([entryFor(device, reason, R)]);
    const bare = trusted(device, set, { role: 'device', signedAt: before });
    assert.equal(bare.trusted, false, `${reason}: dated before the revocation by the signer alone`);
    assert.equal(bare.revocation, 'revoked');
    assert.match(bare.reason, /certificate of DX-R1 was revoked at [^ ]+ \(\w+\); .*so the signature's own date \(signature dated [^)]+\) proves nothing, and no certified timestamp \(RFC 3161\) shows it existed before the revocation/);
    const certified = trusted(device, set, { role: 'device', signedAt: before, certifiedTime: before });
    assert.equal(certified.trusted, true, `${reason}: ${certified.reason}`);
    assert.match(certified.note ?? '', /the certified timestamp \(RFC 3161\) shows the signature existed at [^ ]+, before it/);
    const late = new Date(R.getTime() + 60_000);
    const certifiedLate = trusted(device, set, { role: 'device', signedAt: before, certifiedTime: late });
    assert.equal(certifiedLate.trusted, false, `${reason}: certified after the revocation`);
    assert.match(certifiedLate.reason, /the certified timestamp \([^)]+\) is not before it/);
  }
  assert.match(trusted(device, await withCrl([entryFor(device, 'unspecified', R)]), { role: 'device', signedAt: before }).reason,
    /a revocation without a reason counts as a key compromise/);
});

test('superseded, cessationOfOperation, affiliationChanged: the signing-time rule as before', async () => {
  const R = new Date(Date.now() - HOUR);
  const before = new Date(R.getTime() - HOUR);
  const after = new Date(R.getTime() + 60_000);
  for (const reason of ['superseded', 'cessationOfOperation', 'affiliationChanged'] as const) {
    const set = await withCrl([entryFor(device, reason, R)]);
    const b = trusted(device, set, { role: 'device', signedAt: before });
    assert.equal(b.trusted, true, `${reason}: ${b.reason}`);
    assert.match(b.note ?? '', /signature dated [^,]+, before it — that date is the signer's own claim \(Digital Signature DateTime\), not independently attested/);
    const a = trusted(device, set, { role: 'device', signedAt: after });
    assert.equal(a.trusted, false);
    assert.match(a.reason, new RegExp(`certificate of DX-R1 was revoked at [^ ]+ \\(${reason}\\); signature dated [^ ]+, after it`));
    assert.equal(trusted(device, set, { role: 'device', signedAt: null }).trusted, false, 'undated');
    // --revocation any: refused whatever the evidence.
    const anySet = await withCrl([entryFor(device, reason, R)], 'any');
    const strict = trusted(device, anySet, { role: 'device', signedAt: before, certifiedTime: before });
    assert.equal(strict.trusted, false);
    assert.match(strict.reason, /policy refuses every signature by a revoked certificate or identity/);
  }
});

test(`future-dated signatures: beyond the clock tolerance (${CLOCK_TOLERANCE_MS / 60_000} min) refused, within it trusted`, async () => {
  const set = await bundle();
  const now = new Date();
  const hourAhead = new Date(now.getTime() + HOUR);
  const f = trusted(device, set, { role: 'device', signedAt: hourAhead, now }, hourAhead);
  assert.equal(f.trusted, false);
  assert.match(f.reason, /signature by DX-R1 is dated [^ ]+, in the future \(this clock reads [^ ]+, tolerance 5 min\)/);
  const minuteAhead = new Date(now.getTime() + 60_000);
  assert.equal(trusted(device, set, { role: 'device', signedAt: minuteAhead, now }, minuteAhead).trusted, true);
  // `now` is the caller's clock: the same signature seen from two hours later is fine.
  assert.equal(trusted(device, set, { role: 'device', signedAt: hourAhead, now: new Date(now.getTime() + 2 * HOUR) }, hourAhead).trusted, true);
  // Pinned certificates too, and without an explicit signedAt (the signature time is `when`).
  const self = await generateDeviceKey('DX-FUTURE', join(dir, 'future'));
  const pinned = parseCertificates(readFileSync(self.cert));
  assert.equal(trusted(cert(self.cert), pinned, { role: 'device' }, hourAhead).trusted, false);
  const ts = trusted(device, set, { role: 'device', signedAt: now, certifiedTime: hourAhead, now }, now);
  assert.match(ts.reason, /the certified time of the signature by DX-R1 is [^ ]+, in the future/);
});

test('revoking one certificate revokes the device: its ECDSA sibling is refused in both modes; superseded spares only the successor enrolment', async () => {
  const R = new Date(Date.now() - HOUR);
  const before = new Date(R.getTime() - HOUR);
  const after = new Date(R.getTime() + 60_000);
  // The Ed25519 certificate is compromised; the ECDSA certificate of the same device is not on the list by serial.
  const compromised = await withCrl([entryFor(device, 'keyCompromise', R)]);
  const sib = trusted(deviceEcdsa, compromised, { role: 'device', signedAt: before });
  assert.equal(sib.trusted, false);
  assert.equal(sib.revocation, 'revoked');
  assert.match(sib.reason, new RegExp(`device DX-R1 was revoked at [^ ]+ \\(keyCompromise, certificate serial ${serialOf(device)}\\); this certificate \\(serial ${serialOf(deviceEcdsa)}\\) belongs to the same device`));
  assert.equal(trusted(deviceEcdsa, compromised, { role: 'device', signedAt: before, certifiedTime: before }).trusted, true, 'certified before the revocation');
  const compromisedAny = await withCrl([entryFor(device, 'keyCompromise', R)], 'any');
  assert.equal(trusted(deviceEcdsa, compromisedAny, { role: 'device', signedAt: before, certifiedTime: before }).trusted, false, 'mode any');
  // A retired device (ordinary reason): the sibling follows the signing-time rule from the device's revocation time.
  const retired = await withCrl([entryFor(device, 'cessationOfOperation', R)]);
  assert.equal(trusted(deviceEcdsa, retired, { role: 'device', signedAt: before }).trusted, true);
  assert.match(trusted(deviceEcdsa, retired, { role: 'device', signedAt: after }).reason, /device DX-R1 was revoked at .*belongs to the same device; signature dated [^ ]+, after it/);
  assert.equal(trusted(deviceEcdsa, await withCrl([entryFor(device, 'cessationOfOperation', R)], 'any'), { role: 'device', signedAt: before }).trusted, false, 'mode any');
  // The earliest revocation of the identity decides.
  const two = await withCrl([entryFor(device, 'cessationOfOperation', R), entryFor(deviceEcdsa, 'cessationOfOperation', new Date(R.getTime() + 2 * HOUR))]);
  assert.equal(trusted(deviceEcdsa, two, { role: 'device', signedAt: after }).trusted, false);
  // superseded: the contemporary (same enrolment) is retired with it, in both modes…
  const rotated = await withCrl([entryFor(device, 'superseded', R)]);
  assert.equal(trusted(deviceEcdsa, rotated, { role: 'device', signedAt: before }).trusted, true);
  assert.match(trusted(deviceEcdsa, rotated, { role: 'device', signedAt: after }).reason, /device DX-R1 was revoked at [^ ]+ \(superseded, certificate serial [0-9A-F]+\); .*, after it/);
  assert.equal(trusted(deviceEcdsa, await withCrl([entryFor(device, 'superseded', R)], 'any'), { role: 'device', signedAt: before }).trusted, false, 'mode any');
  // …but the successor the rotation issued signs on (and so does the successor after a compromise, issued after the CA processed it).
  await issueDevice({ caDir, deviceId: 'DX-R1', outDir: join(dir, 'dev-next') });
  const successor = cert(join(dir, 'dev-next', 'device.crt'));
  assert.ok(successor.notBefore > device.notBefore, 'a later enrolment starts later');
  const t = new Date(Math.max(Date.now(), successor.notBefore.getTime()));
  for (const mode of ['signing-time', 'any'] as const) {
    const d = decideTrust(successor, await withCrl([entryFor(device, 'superseded', R)], mode), t, { role: 'device', signedAt: t, now: t });
    assert.equal(d.trusted, true, `${mode}: ${d.reason}`);
    assert.equal(d.revocation, 'not-revoked');
  }
  // Other identities are untouched: the technologist, and a device with another id.
  assert.equal(trusted(technologist, compromised, { role: 'technologist', signedAt: after }).trusted, true);
});

test('CA: revoke writes revocationDate (processed) + invalidityDate (--time) + the identity; OpenSSL reads the CRL; revoke --device lists every certificate; a key issued afterwards is a fresh start', async () => {
  const d = join(dir, 'ca2');
  await initCa({ site: 'Revoke Site', dir: d });
  await issueDevice({ caDir: d, deviceId: 'DX-RV', outDir: join(d, 'dev'), ecdsa: true });
  const ed = cert(join(d, 'dev', 'device.crt'));
  const ec = cert(join(d, 'dev', 'device-ecdsa.crt'));
  const back = new Date(Date.now() - 2 * HOUR);
  const r = await revoke({ caDir: d, certDer: ed.der, reason: 'keyCompromise', time: back });
  assert.deepEqual(r.others.map((o) => [o.cert.serial, o.refused]), [[serialOf(ec), true]]);
  const crl = parseCrl(Buffer.from(readFileSync(join(d, 'crl.pem'), 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64'));
  const [entry] = crl.entries;
  assert.equal(entry!.serial, serialOf(ed));
  assert.ok(Math.abs(entry!.invalidSince!.getTime() - back.getTime()) < 1000, 'invalidityDate = --time');
  assert.ok(entry!.revokedAt.getTime() > back.getTime() + HOUR, 'revocationDate is when the CA processed it');
  assert.deepEqual(entry!.identity, { kind: 'device', commonName: 'DX-RV', issuedAt: ed.notBefore });
  assert.equal(ec.notBefore.getTime(), ed.notBefore.getTime(), 'one enrolment, one notBefore');
  // OpenSSL: the signature checks, the entry prints with its invalidity date and the (non-critical) identity extension,
  // and -crl_check sees the Ed25519 certificate revoked but, reading serials only, not yet the ECDSA one.
  const text = run('openssl', ['crl', '-in', join(d, 'crl.pem'), '-CAfile', join(d, 'ca.crt'), '-noout', '-text']);
  assert.match(text.stderr + text.stdout, /verify OK/);
  assert.match(text.stdout, /X509v3 CRL Reason Code: \n\s+Key Compromise/);
  assert.match(text.stdout, /Invalidity Date: \n\s+\w+ +\d+ [\d:]+ \d{4} GMT/);
  assert.match(text.stdout, /2\.25\.131781794062744928013781171960929928355\.3\.1: \n/);
  const check = (c: string) => run('openssl', ['verify', '-crl_check', '-CAfile', join(d, 'ca.crt'), '-CRLfile', join(d, 'crl.pem'), join(d, 'dev', c)]);
  assert.match(check('device.crt').stdout + check('device.crt').stderr, /certificate revoked/);
  assert.equal(check('device-ecdsa.crt').code, 0);
  // radseal verify refuses the sibling already; revoke --device puts it on the list for everyone.
  const set = parseCertificates(Buffer.from(readFileSync(join(d, 'ca.crt'), 'utf8') + readFileSync(join(d, 'crl.pem'), 'utf8')));
  assert.equal(decideTrust(ec, set, new Date(), { role: 'device' }).trusted, false);
  const all = await revokeIdentity({ caDir: d, kind: 'device', id: 'DX-RV', reason: 'keyCompromise', time: back });
  assert.deepEqual(all.revoked.map((x) => x.serial), [serialOf(ec)], 'only the one not yet revoked');
  const ov = check('device-ecdsa.crt');
  assert.notEqual(ov.code, 0);
  assert.match(ov.stdout + ov.stderr, /certificate revoked/);
  await assert.rejects(revokeIdentity({ caDir: d, kind: 'device', id: 'DX-RV' }), /every device certificate of "DX-RV" is already revoked/);
  await assert.rejects(revokeIdentity({ caDir: d, kind: 'technologist', id: 'DX-RV' }), /has issued no technologist certificate to "DX-RV"/);
  await assert.rejects(revoke({ caDir: d, certDer: ed.der, time: new Date(Date.now() + HOUR) }), /is in the future/);
  // The stolen workstation is re-provisioned under the same id: the new key starts after the revocation and is trusted.
  await issueDevice({ caDir: d, deviceId: 'DX-RV', outDir: join(d, 'dev-new') });
  const fresh = cert(join(d, 'dev-new', 'device.crt'));
  const latest = parseCrl(Buffer.from(readFileSync(join(d, 'crl.pem'), 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64'));
  assert.ok(latest.entries.every((e) => fresh.notBefore > e.revokedAt), 'notBefore after every revocation of DX-RV');
  const now = parseCertificates(Buffer.from(readFileSync(join(d, 'ca.crt'), 'utf8') + readFileSync(join(d, 'crl.pem'), 'utf8')));
  const t = new Date(Math.max(Date.now(), fresh.notBefore.getTime()));
  const dec = decideTrust(fresh, now, t, { role: 'device', now: t });
  assert.equal(dec.trusted, true, dec.reason);
  assert.equal(dec.revocation, 'not-revoked');
});

test('end to end: a keyCompromise-revoked device key signing "before" the revocation is not authentic; with a real TSA token dated before it, it is', async () => {
  const d = join(dir, 'ca3');
  await initCa({ site: 'E2E Site', dir: d });
  await issueDevice({ caDir: d, deviceId: 'DX-E2E', outDir: join(d, 'dev') });
  const id = loadDeviceIdentity(join(d, 'dev', 'device.key'), join(d, 'dev', 'device.crt'));
  const frame = { rows: 16, cols: 16, bitsStored: 12, pixels: new Uint16Array(256).fill(700) };
  const req = { frame, rawFrameSha256: sha256(pixelBytes(frame.pixels)), frameSerial: 3, meta: { patientId: 'P3', patientName: 'C^D' } };
  const stamped = await sealFrame({ ...req, timestamp: (sig: Uint8Array) => requestTimestamp(tsa.url, sig) }, id);
  const plain = await sealFrame(req, id);
  await new Promise((r) => setTimeout(r, 1100)); // the revocation lies after both signatures (CRL times count whole seconds)
  await revoke({ caDir: d, certDer: id.certificateDer, reason: 'keyCompromise' });
  const out = join(d, 'trust.pem');
  await writeBundle({ caDir: d, out });
  writeFileSync(out, readFileSync(out, 'utf8') + tsa.caPem);
  const set = parseCertificates(readFileSync(out));
  const p = verifyObject('plain', plain.bytes, set);
  assert.equal(p.verdict, 'untrusted');
  assert.match(p.reasons.join('\n'), /certificate of DX-E2E was revoked at [^ ]+ \(keyCompromise\); after keyCompromise the key may be in other hands/);
  const s = verifyObject('stamped', stamped.bytes, set);
  assert.equal(s.verdict, 'authentic', s.reasons.join('\n'));
  assert.ok(s.signatures[0]!.certifiedTime);
});
