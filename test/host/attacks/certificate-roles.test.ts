// Certificates used outside their role: whatever sits in the trust bundle, a
// time-stamping authority, a technologist or a CA never signs as the device
// (purpose 14, Source). Each object is sealed completely and correctly with
// that certificate as the device's; only the role is wrong.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, radseal } from '../support/run.js';
import { makeIdentities, sealTo, testFrame, run, type Identities, TECH_PIN } from '../dicom/fixtures.js';
import { loadDeviceIdentity, loadTechnologist } from '../../../host/seal/device.js';
import { verifyLib, expectVerdict } from './support.js';

const dir = tempDir('radseal-attack-roles-');
let ids: Identities;
before(async () => {
  ids = await makeIdentities(dir);
});

const UNTRUSTED = /role|purpose|extended key usage|profile|CA|time-?stamp|technologist|device/i;

/** An Ed25519 key (0600 PKCS#8) and a self-signed certificate made by OpenSSL with the given extensions. */
function opensslEd25519(name: string, cn: string, ext: string[]): { key: string; cert: string } {
  const key = join(dir, `${name}.key`), cert = join(dir, `${name}.crt`);
  assert.equal(run('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key]).status, 0);
  chmodSync(key, 0o600);
  const r = run('openssl', ['req', '-x509', '-key', key, '-out', cert, '-subj', `/CN=${cn}`, '-days', '30', ...ext.flatMap((e) => ['-addext', e])]);
  assert.equal(r.status, 0, r.stderr);
  return { key, cert };
}

async function sealAndVerify(name: string, device: Parameters<typeof sealTo>[2], trustPem: string) {
  const file = join(dir, `${name}.dcm`);
  const bytes = await sealTo(file, testFrame(64, 64), device);
  return verifyLib({ ids: { trustPem } }, bytes);
}

test('a TSA certificate (EKU timeStamping) pinned in the trust bundle, used as the device: untrusted', async () => {
  const tsa = opensslEd25519('tsa', 'DX-ROOM-3', ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=critical,timeStamping']);
  assert.match(run('openssl', ['x509', '-in', tsa.cert, '-noout', '-ext', 'extendedKeyUsage']).stdout, /Time Stamping/, 'OpenSSL sees a TSA certificate');
  const r = await sealAndVerify('tsa-as-device', loadDeviceIdentity(tsa.key, tsa.cert), tsa.cert);
  expectVerdict(r, 'untrusted', UNTRUSTED);
});

test('a technologist certificate used as the device: untrusted', async () => {
  const tech = loadTechnologist(ids.certs.techKey, ids.certs.technologist, TECH_PIN);
  const device = { deviceId: tech.operatorId, boardId: 'unspecified', signer: tech.signer, certificateDer: tech.certificateDer };
  const r = await sealAndVerify('tech-as-device', device, ids.trustPem);
  expectVerdict(r, 'untrusted', UNTRUSTED);
});

test('a CA certificate (basicConstraints cA, keyCertSign) pinned in the trust bundle, signing directly as the device: untrusted', async () => {
  const ca = opensslEd25519('ca', 'DX-ROOM-3', ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  const r = await sealAndVerify('ca-as-device', loadDeviceIdentity(ca.key, ca.cert), ca.cert);
  expectVerdict(r, 'untrusted', UNTRUSTED);
});

test('the site CA of `radseal pki` signing directly as the device: untrusted', async () => {
  const caDir = join(dir, 'site-ca');
  const init = radseal('pki', 'init', '--site', 'Attack Site', '--out', caDir);
  assert.equal(init.code, 0, init.stderr);
  const bundle = join(dir, 'site-trust.pem');
  assert.equal(radseal('pki', 'bundle', '--ca', caDir, '--out', bundle).code, 0);
  // The CA key is an Ed25519 PKCS#8 file like a device key; its certificate names the site, so the attestation names it too.
  const caDevice = loadDeviceIdentity(join(caDir, 'ca.key'), join(caDir, 'ca.crt'));
  const r = await sealAndVerify('site-ca-as-device', caDevice, bundle);
  expectVerdict(r, 'untrusted', UNTRUSTED);
});

test('a site-PKI technologist certificate used as the device: untrusted', async () => {
  const caDir = join(dir, 'site-ca2');
  assert.equal(radseal('pki', 'init', '--site', 'Attack Site 2', '--out', caDir).code, 0);
  process.env.RADSEAL_ATTACK_PIN = 'attack-pin-1234';
  const issued = radseal('pki', 'issue-technologist', '--ca', caDir, '--id', 'tech777', '--name', 'Roe^Rick', '--out', join(dir, 'tech777'), '--pin-env', 'RADSEAL_ATTACK_PIN');
  assert.equal(issued.code, 0, issued.stderr);
  const bundle = join(dir, 'site-trust2.pem');
  assert.equal(radseal('pki', 'bundle', '--ca', caDir, '--out', bundle).code, 0);
  const tech = loadTechnologist(join(dir, 'tech777', 'tech777.key'), join(dir, 'tech777', 'tech777.crt'), 'attack-pin-1234');
  const r = await sealAndVerify('site-tech-as-device', { deviceId: tech.operatorId, boardId: 'unspecified', signer: tech.signer, certificateDer: tech.certificateDer }, bundle);
  expectVerdict(r, 'untrusted', UNTRUSTED);
});

