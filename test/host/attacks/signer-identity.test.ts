// What a holder of a device key can still claim about the signature and its certificate: a
// Digital Signature DateTime whose fields are out of range (it rolled over into another, earlier
// date, placing the signature where the signer liked), a certificate whose key usage forbids
// signing, a certificate naming two CNs (tools disagree on which one is the signer). Each object is
// sealed and signed correctly; only the claim is wrong. And a key anyone can break: an RSA-1024
// certificate pinned for DCMTK's dcmsign. The certificate has been valid since 2020,
// so a rolled-over date is inside its validity.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyUsageFlags } from '@peculiar/asn1-x509';
import { tempDir } from '../support/run.js';
import { sealTo, testFrame, run } from '../dicom/fixtures.js';
import { verifyLib, expectVerdict } from './support.js';
import { edit, must, str, t, type Part10 } from '../../attacks/part10.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement } from '../../../host/dicom/model.js';
import { TAGS } from '../../../host/dicom/mac.js';
import { SIG, macDigest, parseDicomDateTime } from '../../../host/dicom/signatures.js';
import { decodeAT, decodeUS } from '../../../host/dicom/values.js';
import { seedSigner, publicKeyOf, newSeed } from '../../../host/keys/ed25519.js';
import { issueCertificate } from '../../../host/keys/x509.js';
import { toPem } from '../../../host/keys/pem.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { EKU_DEVICE } from '../../../host/keys/pki/profiles.js';
import type { DeviceIdentity } from '../../../host/seal/seal.js';

const dir = tempDir('radseal-attack-identity-');
const SINCE_2020 = new Date('2020-01-01T00:00:00Z');

async function deviceSince2020(keyUsage: number): Promise<{ device: DeviceIdentity; trustPem: string }> {
  const seed = newSeed();
  const signer = seedSigner(seed);
  const certificateDer = await issueCertificate({ subject: { commonName: 'DX-ROOM-3' }, subjectPublicKey: publicKeyOf(seed), issuerSigner: signer, notBefore: SINCE_2020, validDays: 20 * 365, extendedKeyUsage: [EKU_DEVICE], keyUsage });
  const trustPem = join(dir, `trust-${keyUsage}.pem`);
  writeFileSync(trustPem, toPem('CERTIFICATE', certificateDer));
  return { device: { deviceId: 'DX-ROOM-3', boardId: 'unspecified', signer, certificateDer }, trustPem };
}

let signing: { device: DeviceIdentity; trustPem: string };
before(async () => {
  signing = await deviceSince2020(KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation);
});

async function sealed(device: DeviceIdentity, name: string): Promise<Uint8Array> {
  return sealTo(join(dir, `${name}.dcm`), testFrame(64, 64), device);
}

const signatureItems = (f: Part10) => must(f.dataSet, TAGS.digitalSignaturesSequence).items!.map((i) => i.elements);

/** The device's signature (MAC ID 1) re-made by the device key over Digital Signature DateTime `dt`. */
async function resignedAt(bytes: Uint8Array, dt: string): Promise<Uint8Array> {
  const withDate = edit(bytes, (f) => { must(signatureItems(f)[0]!, SIG.digitalSignatureDateTime).value = str(0, 'DT', dt).value; });
  const { dataSet } = readPart10(withDate);
  const item = findElement(dataSet, TAGS.digitalSignaturesSequence)!.items![0]!;
  assert.equal(decodeUS(findElement(item, SIG.macIdNumber)!.value), 1);
  const macItem = findElement(dataSet, TAGS.macParametersSequence)!.items!.find((m) => decodeUS(findElement(m, SIG.macIdNumber)!.value) === 1)!;
  const { digest } = macDigest(dataSet, decodeAT(findElement(macItem, SIG.dataElementsSigned)!.value!), item, 'SHA512');
  const signature = await signing.device.signer.sign(digest);
  return edit(withDate, (f) => { must(signatureItems(f)[0]!, TAGS.signature).value = signature; });
}

test('Digital Signature DateTime: out-of-range fields are no date; the formats radseal and DCMTK write are', () => {
  for (const bad of ['20251332120000.000000+0000', '20260230120000', '20261203240000', '20261203126000', '20261203120000+1500', '20261203120000+0060', '20260012']) {
    assert.equal(parseDicomDateTime(bad), undefined, bad);
  }
  assert.equal(parseDicomDateTime('20261203191322.900000+0000')?.toISOString(), '2026-12-03T19:13:22.900Z');
  assert.equal(parseDicomDateTime('20261203141322-0500')?.toISOString(), '2026-12-03T19:13:22.000Z');
  assert.equal(parseDicomDateTime('20241231235960')?.toISOString(), '2025-01-01T00:00:00.000Z', 'a leap second');
});

test('control: a signature re-made by the device key at a valid earlier date is authentic', async () => {
  const r = verifyLib({ ids: { trustPem: signing.trustPem } }, await resignedAt(await sealed(signing.device, 'control'), '20260201120000.000000+0000'));
  assert.equal(r.verdict, 'authentic', r.reasons.join(' | '));
});

test('a signature by the device key dated month 13, day 32 (rolled over to 2026-02-01): invalid, the date named', async () => {
  const bytes = await resignedAt(await sealed(signing.device, 'month13'), '20251332120000.000000+0000');
  expectVerdict(verifyLib({ ids: { trustPem: signing.trustPem } }, bytes), 'invalid', /Digital Signature DateTime \(0400,0105\) "20251332120000\.000000\+0000" is missing or not a valid DT/);
});

test('a device certificate whose key usage is keyEncipherment only (no digitalSignature): untrusted', async () => {
  const encipher = await deviceSince2020(KeyUsageFlags.keyEncipherment);
  const r = verifyLib({ ids: { trustPem: encipher.trustPem } }, await sealed(encipher.device, 'key-encipherment'));
  expectVerdict(r, 'untrusted', /key usage without digitalSignature or nonRepudiation/);
});

test('a device certificate naming two CNs (DX-ROOM-3 first, OpenSSL shows the last): not the attested device, untrusted', async () => {
  const key = join(dir, 'two-cn.key'), cert = join(dir, 'two-cn.crt');
  assert.equal(run('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key]).status, 0);
  chmodSync(key, 0o600);
  const r = run('openssl', ['req', '-x509', '-key', key, '-out', cert, '-subj', '/CN=DX-ROOM-3/CN=DX-ROOM-9', '-days', '30',
    '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature', '-addext', `extendedKeyUsage=${EKU_DEVICE}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(run('openssl', ['x509', '-in', cert, '-noout', '-subject']).stdout, /CN ?= ?DX-ROOM-3, CN ?= ?DX-ROOM-9/);
  const device = { ...loadDeviceIdentity(key, cert), deviceId: 'DX-ROOM-3' };
  const report = verifyLib({ ids: { trustPem: cert } }, await sealed(device, 'two-cn'));
  expectVerdict(report, 'untrusted', /capture attestation names device "DX-ROOM-3"/);
});

for (const bits of [1024, 2048]) {
  test(`dcmsign signature (purpose 14, every element) with a pinned RSA-${bits} device certificate: ${bits < 2048 ? 'untrusted, the key size named' : 'authentic (control)'}`, async () => {
    const plain = await sealTo(join(dir, `rsa-${bits}-plain.dcm`), testFrame(64, 64), signing.device);
    const bare = join(dir, `rsa-${bits}-bare.dcm`), signedFile = join(dir, `rsa-${bits}.dcm`);
    writeFileSync(join(dir, 'in.dcm'), plain);
    assert.equal(run('dcmsign', ['--remove-all', join(dir, 'in.dcm'), bare]).status, 0);
    const key = join(dir, `rsa-${bits}.key`), cert = join(dir, `rsa-${bits}.crt`);
    const o = run('openssl', ['req', '-x509', '-newkey', `rsa:${bits}`, '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=DX-ROOM-3', '-days', '30',
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature', '-addext', `extendedKeyUsage=${EKU_DEVICE}`]);
    assert.equal(o.status, 0, o.stderr);
    const r = run('dcmsign', ['--sign', key, cert, '+sp', '14', '+m2', bare, signedFile]);
    assert.equal(r.status, 0, r.stderr);
    const report = verifyLib({ ids: { trustPem: cert } }, new Uint8Array(readFileSync(signedFile)));
    if (bits >= 2048) assert.equal(report.verdict, 'authentic', report.reasons.join(' | '));
    else expectVerdict(report, 'untrusted', /an RSA key of 1024 bits \(at least 2048 required\)/);
  });
}
