// Signatures added to a genuine object by someone holding only a key of their
// own: a technologist co-signature (Author) under a self-made certificate
// naming the operator, and a second Source signature under a self-made
// certificate naming the attested device. Each is valid over the data and
// signed by nobody the site trusts. By design such a signature vouches for
// nothing (a co-signature is optional under the default policy, and a
// technologist outside the trust bundle does not spoil a device's image), so
// the verdict stays authentic; but nothing in the report may present the
// stranger as trusted: the signature is listed untrusted and named in a
// reason, the co-signature is not accepted, the report page does not say that
// every signature is trusted, and a policy that requires the co-signature
// refuses it.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { tempDir } from '../support/run.js';
import { makeIdentities, sealTo, testFrame, type Identities } from '../dicom/fixtures.js';
import { generateDeviceKey, generateTechnologistKey } from '../../../host/keys/provision.js';
import { loadDeviceIdentity, loadTechnologist } from '../../../host/seal/device.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { addSignature, PURPOSE, type Purpose } from '../../../host/dicom/signatures.js';
import { encodePart10 } from '../../../host/dicom/writer.js';
import { decodeString } from '../../../host/dicom/values.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { DEFAULT_POLICY } from '../../../host/ingest/policy.js';
import { renderReportHtml } from '../../../host/ingest/report.js';
import { parseCertificates, type CertInfo } from '../../../host/keys/certs.js';
import type { Signer } from '../../../host/keys/ed25519.js';
import { ROWS, COLS } from './support.js';

const dir = tempDir('radseal-attack-extra-sig-');
let ids: Identities;
let trust: CertInfo[];
let plain: Uint8Array;
let stranger: { technologist: { signer: Signer; certificateDer: Uint8Array }; device: { signer: Signer; certificateDer: Uint8Array } };

before(async () => {
  ids = await makeIdentities(dir);
  trust = parseCertificates(readFileSync(ids.trustPem));
  // Sealed by the device alone (no co-signature), as the default policy allows.
  plain = await sealTo(join(dir, 'plain.dcm'), testFrame(ROWS, COLS), ids.deviceWithEcdsa, {});
  const tech = await generateTechnologistKey('tech042', join(dir, 'stranger'), 'pin-9999');
  const device = await generateDeviceKey('DX-ROOM-3', join(dir, 'stranger'));
  stranger = { technologist: loadTechnologist(tech.key, tech.cert, 'pin-9999', 'Famous^Doctor'), device: loadDeviceIdentity(device.key, device.cert) };
});

/** The object with one more signature, made by `who` over every element, written back. */
async function withSignature(bytes: Uint8Array, who: { signer: Signer; certificateDer: Uint8Array }, purpose: Purpose): Promise<Uint8Array> {
  const { dataSet } = readPart10(bytes);
  await addSignature(dataSet, { signer: who.signer, certificateDer: who.certificateDer, purpose });
  const uid = (t: number) => decodeString(findElement(dataSet, t)?.value);
  return encodePart10({ sopClassUid: uid(tag(0x0008, 0x0016)), sopInstanceUid: uid(tag(0x0008, 0x0018)) }, dataSet);
}

function expectStrangerShown(bytes: Uint8Array, role: string): void {
  const r = verifyObject('extra.dcm', bytes, trust);
  assert.equal(r.verdict, 'authentic', r.reasons.join(' | '));
  const added = r.signatures.at(-1)!;
  assert.deepEqual([added.role, added.valid, added.trusted], [role, true, false], JSON.stringify(added));
  assert.ok(r.reasons.some((x) => x.startsWith(`signature ${added.macId} `)), r.reasons.join(' | '));
  const html = renderReportHtml(r, bytes);
  assert.doesNotMatch(html, /Every signature is valid and made by a device this site trusts/);
  assert.match(html, /1 other signature is NOT from a signer this site trusts/);
}

test('control: the object sealed by the device alone is authentic, and the report says every signature is trusted', () => {
  const r = verifyObject('plain.dcm', plain, trust);
  assert.equal(r.verdict, 'authentic', r.reasons.join(' | '));
  assert.match(renderReportHtml(r, plain), /Every signature is valid and made by a device this site trusts/);
});

test('a co-signature (Author) added under a self-made certificate naming the operator: not accepted, shown untrusted; refused when policy requires one', async () => {
  const bytes = await withSignature(plain, stranger.technologist, PURPOSE.author);
  expectStrangerShown(bytes, 'technologist');
  const r = verifyObject('extra.dcm', bytes, trust);
  assert.equal(r.technologist?.accepted, false);
  const strict = verifyObject('extra.dcm', bytes, trust, { policy: { ...DEFAULT_POLICY, requireTechnologistSignature: true } });
  assert.equal(strict.verdict, 'untrusted', strict.reasons.join(' | '));
});

test('a second Source signature under a self-made certificate naming the attested device: vouches for nothing, shown untrusted', async () => {
  const bytes = await withSignature(plain, stranger.device, PURPOSE.source);
  expectStrangerShown(bytes, 'device');
  // It is the real device's signatures that vouch: with them gone, the stranger's alone is untrusted.
  const { dataSet } = readPart10(bytes);
  const sigs = findElement(dataSet, tag(0xfffa, 0xfffa))!;
  const macs = findElement(dataSet, tag(0x4ffe, 0x0001))!;
  sigs.items = sigs.items!.slice(-1);
  macs.items = macs.items!.slice(-1);
  const alone = encodePart10({ sopClassUid: decodeString(findElement(dataSet, tag(0x0008, 0x0016))!.value), sopInstanceUid: decodeString(findElement(dataSet, tag(0x0008, 0x0018))!.value) }, dataSet);
  assert.equal(verifyObject('alone.dcm', alone, trust).verdict, 'untrusted');
});
