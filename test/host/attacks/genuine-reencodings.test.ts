// Genuine re-encodings that change no signed value and must still verify
// `authentic`: undefined-length sequences and items (written by pydicom and by
// the attack writer), group length elements (top level and in items), Data
// Set Trailing Padding (FFFC,FFFC) at the end and inside items. DCMTK's
// dcmsign checks the same files (the ECDSA signature) as the oracle that the
// signed content is really unchanged.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { tempDir, ROOT } from '../support/run.js';
import { run, PYTHON } from '../dicom/fixtures.js';
import { sealedObject, verifyLib, writeIn, type Sealed } from './support.js';
import { edit, must, bin, t, type Part10, type WriteOptions } from '../../attacks/part10.js';

const dir = tempDir('radseal-attack-reencode-');
let s: Sealed;
before(async () => {
  s = await sealedObject(dir);
});

const padding = () => bin(t(0xfffc, 0xfffc), 'OB', new Uint8Array(24));
const padItems = (f: Part10) => {
  must(f.dataSet, t(0x0008, 0x2218)).items![0]!.elements.push(padding());
  must(f.dataSet, t(0x0008, 0x1072)).items![0]!.elements.push(padding());
};
const padEnd = (f: Part10) => void f.dataSet.push(padding());

const CASES: Array<[string, (f: Part10) => void, WriteOptions]> = [
  ['undefined-length sequences and items', () => {}, { undefinedLengths: true }],
  ['group length elements at the top level and in items', () => {}, { groupLengths: true }],
  ['trailing padding (FFFC,FFFC) at the end of the data set', padEnd, {}],
  ['trailing padding (FFFC,FFFC) inside items', padItems, {}],
  ['all of these at once', (f) => { padItems(f); padEnd(f); }, { undefinedLengths: true, groupLengths: true }],
];

/** dcmsign's verdict on the ECDSA device signature (#3; the Ed25519 ones DCMTK 3.6.7 cannot read). */
function dcmtkEcdsaOk(file: string): boolean {
  const r = run('dcmsign', ['--verify', '+cf', s.ids.certs.ecdsa, file]);
  return /Signature #3[^\n]*\n[^\n]*Signature Verification : OK/.test(r.stdout + r.stderr);
}

test('control: the sealed object is authentic and DCMTK verifies its ECDSA signature', () => {
  assert.equal(verifyLib(s, s.bytes).verdict, 'authentic', verifyLib(s, s.bytes).reasons.join(' | '));
  assert.ok(dcmtkEcdsaOk(s.file));
});

for (const [name, fn, opts] of CASES) {
  test(`re-encoded with ${name}: authentic, and DCMTK still verifies the ECDSA signature`, () => {
    const bytes = edit(s.bytes, fn, opts);
    assert.notDeepEqual(Buffer.from(bytes), Buffer.from(s.bytes), 'the encoding really changed');
    const file = writeIn(dir, `reencoded-${name.replace(/\W+/g, '-')}.dcm`, bytes);
    assert.ok(dcmtkEcdsaOk(file), 'dcmsign --verify: signature #3 OK');
    const r = verifyLib(s, bytes);
    assert.equal(r.verdict, 'authentic', r.reasons.join(' | '));
  });
}

test('re-encoded by pydicom with undefined lengths: authentic, and DCMTK still verifies the ECDSA signature', () => {
  const out = join(dir, 'pydicom-undefined.dcm');
  const r = run(PYTHON, [join(ROOT, 'test', 'attacks', 'reencode_undefined_lengths.py'), s.file, out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(run('dcmdump', ['-q', out]).stdout, /Sequence with undefined length/);
  assert.ok(dcmtkEcdsaOk(out));
  const rep = verifyLib(s, new Uint8Array(readFileSync(out)));
  assert.equal(rep.verdict, 'authentic', rep.reasons.join(' | '));
});

// DCMTK as the re-encoder: dcmconv writes the data set again with undefined lengths (+e), group
// lengths (+g), zero padding at the end of the data set and of every item, the MAC Parameters items
// too (+p), and changes no value.
for (const [name, args] of [['undefined lengths (dcmconv +e)', ['+e']], ['group lengths (dcmconv +g)', ['+g']], ['both (dcmconv +e +g)', ['+e', '+g']],
  ['file and item padding (dcmconv +p 256 256)', ['+p', '256', '256']], ['all three (dcmconv +e +g +p 512 512)', ['+e', '+g', '+p', '512', '512']]] as const) {
  test(`re-encoded by DCMTK with ${name}: authentic`, () => {
    const out = join(dir, `dcmconv-${args.join('')}.dcm`);
    const r = run('dcmconv', [...args, s.file, out]);
    assert.equal(r.status, 0, r.stderr);
    assert.notDeepEqual(readFileSync(out), Buffer.from(s.bytes));
    assert.ok(dcmtkEcdsaOk(out));
    const rep = verifyLib(s, new Uint8Array(readFileSync(out)));
    assert.equal(rep.verdict, 'authentic', rep.reasons.join(' | '));
  });
}
