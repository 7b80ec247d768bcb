// The File Meta Information lies outside every signature: whatever it holds beyond what PS3.10
// puts there rides along unsigned while every signature still verifies (dcmsign agrees). Private
// Information (0002,0102), a real-time video element, an OB Source AE Title of kilobytes: each
// makes a signed object invalid, named. The meta headers genuine writers give (DCMTK's storescp
// adds the sender's AE titles) stay authentic.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { tempDir } from '../support/run.js';
import { run } from '../dicom/fixtures.js';
import { sealedObject, verifyLib, expectVerdict, writeIn, type Sealed } from './support.js';
import { edit, insertSorted, must, remove, str, bin, t, type Part10 } from '../../attacks/part10.js';

const dir = tempDir('radseal-attack-meta-');
let s: Sealed;
before(async () => {
  s = await sealedObject(dir);
});

function dcmtkEcdsaOk(file: string): boolean {
  const r = run('dcmsign', ['--verify', '+cf', s.ids.certs.ecdsa, file]);
  return /Signature #3[^\n]*\n[^\n]*Signature Verification : OK/.test(r.stdout + r.stderr);
}

const CASES: Array<[string, (f: Part10) => void, RegExp]> = [
  ['Private Information Creator UID and Private Information (0002,0100/0102) with 4 KB', (f) => { insertSorted(f.meta, str(t(0x0002, 0x0100), 'UI', '1.2.3.4')); insertSorted(f.meta, bin(t(0x0002, 0x0102), 'OB', new Uint8Array(4096).fill(0x41))); }, /meta header holds \(0002,0102\)/],
  ['RTV Source Identifier (0002,0035)', (f) => insertSorted(f.meta, bin(t(0x0002, 0x0035), 'OB', new TextEncoder().encode('hidden payload..'))), /meta header holds \(0002,0035\)/],
  ['Source AE Title (0002,0016) as OB of 2 KB', (f) => insertSorted(f.meta, bin(t(0x0002, 0x0016), 'OB', new Uint8Array(2048).fill(0x41))), /meta header's \(0002,0016\) is OB of 2048 bytes, not AE/],
  ['File Meta Information Version (0002,0001) "PK" instead of 00 01', (f) => { must(f.meta, t(0x0002, 0x0001)).value = new TextEncoder().encode('PK'); }, /\(0002,0001\) holds "PK", not a version 00 01/],
  ['an Implementation Class UID (0002,0012) holding text, not digits and dots', (f) => { must(f.meta, t(0x0002, 0x0012)).value = str(0, 'UI', 'hidden payload!').value; }, /\(0002,0012\) holds "hidden payload!.*", not a UI value/],
  ['Implementation Version Name (0002,0013) of 200 characters', (f) => { remove(f.meta, t(0x0002, 0x0013)); insertSorted(f.meta, str(t(0x0002, 0x0013), 'SH', 'V'.repeat(200))); }, /\(0002,0013\) is SH of 200 bytes/],
];

for (const [name, fn, why] of CASES) {
  test(`meta header carrying ${name}: invalid, named, while dcmsign still verifies`, () => {
    const bytes = edit(s.bytes, fn);
    assert.ok(dcmtkEcdsaOk(writeIn(dir, `meta-${name.replace(/\W+/g, '-').slice(0, 40)}.dcm`, bytes)), 'dcmsign: the ECDSA signature still verifies');
    expectVerdict(verifyLib(s, bytes), 'invalid', why);
  });
}

test('genuine: the object as DCMTK storescp stores it (meta re-written with the sending and receiving AE titles), and a 30-character version name, stays authentic', () => {
  const out = join(dir, 'via-dcmtk.dcm');
  const r = run('dcmconv', ['+fo', s.file, out]);
  assert.equal(r.status, 0, r.stderr);
  const bytes = edit(new Uint8Array(readFileSync(out)), (f) => {
    insertSorted(f.meta, str(t(0x0002, 0x0016), 'AE', 'MODALITY1'));
    insertSorted(f.meta, str(t(0x0002, 0x0017), 'AE', 'RADSEAL'));
    insertSorted(f.meta, str(t(0x0002, 0x0018), 'AE', 'PACS'));
    // A writer that overruns SH's 16 characters, as some PACS do.
    remove(f.meta, t(0x0002, 0x0013));
    insertSorted(f.meta, str(t(0x0002, 0x0013), 'SH', 'VENDOR_PACS_VERSION_12.4.5.678'));
  });
  const report = verifyLib(s, bytes);
  assert.equal(report.verdict, 'authentic', report.reasons.join(' | '));
});
