// The Certificate of Signer lies outside every MAC. A byte changed in it (the serial number, the
// certificate's own signature) leaves the object's signature valid under the same key while the
// certificate is no longer the pinned one: that signature turned "untrusted", the others still
// vouched, and the object stayed authentic with a part changed after signing. A certificate that
// does not verify under its known issuer (itself, or one of the trust set) is an alteration: tampered.
// A stranger's own, intact certificate on an extra signature is not.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { tempDir } from '../support/run.js';
import { run } from '../dicom/fixtures.js';
import { sealedObject, verifyLib, expectVerdict, opensslSigner, type Sealed } from './support.js';
import { edit, must, t, type Part10 } from '../../attacks/part10.js';

const dir = tempDir('radseal-attack-cert-alter-');
let s: Sealed;
before(async () => {
  s = await sealedObject(dir);
});

const CERT = t(0x0400, 0x0115);
const certOf = (f: Part10, item: number) => must(must(f.dataSet, t(0xfffa, 0xfffa)).items![item]!.elements, CERT);

/** Flips the byte `from` bytes before the end of signature item `item`'s certificate (its own signature lies at the end). */
const flipNearEnd = (item: number, from: number) => (f: Part10) => {
  const c = certOf(f, item);
  const v = new Uint8Array(c.value!);
  v[v.length - from]! ^= 0x01;
  c.value = v;
};

/** Flips a byte of the serial number: the INTEGER right after the version [0] of the TBSCertificate. */
const flipSerial = (item: number) => (f: Part10) => {
  const c = certOf(f, item);
  const v = new Uint8Array(c.value!);
  const at = v.findIndex((b, i) => i > 4 && v[i - 5] === 0xa0 && v[i - 4] === 0x03 && v[i - 3] === 0x02 && v[i - 2] === 0x01 && b === 0x02);
  assert.ok(at > 0, 'serial number found');
  v[at + 3]! ^= 0x01;
  c.value = v;
};

/** Changes one letter of the first occurrence of `name` in the certificate: the issuer Name, which precedes the subject. */
const flipIssuerName = (item: number, name: string) => (f: Part10) => {
  const c = certOf(f, item);
  const v = new Uint8Array(c.value!);
  const at = Buffer.from(v).indexOf(name, 0, 'latin1');
  assert.ok(at > 0, `${name} found`);
  v[at]! ^= 0x20;
  c.value = v;
};

const CASES: Array<[string, (f: Part10) => void, string]> = [
  ['the Ed25519 device certificate\'s issuer name (now a stranger\'s certificate with the device\'s key)', flipIssuerName(0, 'DX-ROOM-3'), 'Ed25519'],
  ['the technologist certificate\'s own signature (a byte near its end)', flipNearEnd(3, 10), 'tech042'],
  ['the ECDSA device certificate\'s own signature', flipNearEnd(2, 10), 'ECDSA-P256, DX-ROOM-3'],
  ['the Ed25519 device certificate\'s serial number', flipSerial(0), 'Ed25519, DX-ROOM-3'],
];

for (const [name, fn, who] of CASES) {
  test(`one byte of ${name} changed: tampered, naming the alteration`, () => {
    const r = verifyLib(s, edit(s.bytes, fn));
    expectVerdict(r, 'tampered', /(does not verify under its issuer|carries the key of trusted certificate) .*: altered after it was issued/);
    assert.ok(r.reasons.some((x) => x.includes(who) && /altered/.test(x)), r.reasons.join(' | '));
  });
}

test('control: a stranger\'s extra dcmsign signature with its own intact certificate leaves the object authentic', () => {
  const stranger = opensslSigner(dir, 'Some Vendor', []);
  const out = join(dir, 'plus-stranger.dcm');
  const r = run('dcmsign', ['--sign', stranger.key, stranger.cert, '+m2', s.file, out]);
  assert.equal(r.status, 0, r.stderr);
  const report = verifyLib(s, new Uint8Array(readFileSync(out)));
  assert.equal(report.verdict, 'authentic', report.reasons.join(' | '));
  assert.ok(report.reasons.some((x) => /Some Vendor.*not in the trust set/.test(x)), 'the stranger is named, not trusted');
  assert.ok(!report.reasons.some((x) => /altered/.test(x)));
});
