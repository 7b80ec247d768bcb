// Ambiguous encodings: an element present twice, elements out of ascending
// order, and elements after the end of the data set. DCMTK keeps the FIRST
// of two equal tags ("found twice ... ignoring second entry"), so a forged
// copy placed before the signed one is what a DCMTK-based viewer shows, while
// a parser that keeps the last one checks the signed copy. Each case first
// proves with dcmdump that DCMTK reads the forgery, then that radseal refuses.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { tempDir } from '../support/run.js';
import { run } from '../dicom/fixtures.js';
import { sealedObject, verifyLib, expectVerdict, writeIn, dcmtkValue, dcmtkPixels, type Sealed } from './support.js';
import { edit, insertBefore, insertSorted, remove, must, str, bin, t, encodeDataSet, type Node } from '../../attacks/part10.js';

const DUPLICATE = /twice|duplicate/i;
const dir = tempDir('radseal-attack-dup-');
let s: Sealed;
before(async () => {
  s = await sealedObject(dir);
});

test('control: the sealed object, untouched and re-written by the attack writer, is authentic', () => {
  assert.equal(verifyLib(s, s.bytes).verdict, 'authentic', verifyLib(s, s.bytes).reasons.join(' | '));
  assert.equal(verifyLib(s, edit(s.bytes, () => {})).verdict, 'authentic');
});

// Top-level elements that change what is shown or whom it belongs to, with a forged value.
const FORGED: Array<[string, Node]> = [
  ['Patient ID', str(t(0x0010, 0x0020), 'LO', 'FORGED-ID')],
  ["Patient's Name", str(t(0x0010, 0x0010), 'PN', 'Forged^Name')],
  ['Image Laterality', str(t(0x0020, 0x0062), 'CS', 'R')],
  ['Patient Orientation', str(t(0x0020, 0x0020), 'CS', 'R\\H')],
  ['Photometric Interpretation', str(t(0x0028, 0x0004), 'CS', 'MONOCHROME1')],
  ['Window Center', str(t(0x0028, 0x1050), 'DS', '100')],
  ['Window Width', str(t(0x0028, 0x1051), 'DS', '50')],
  ['Rescale Intercept', str(t(0x0028, 0x1052), 'DS', '-1000')],
  ['Rescale Slope', str(t(0x0028, 0x1053), 'DS', '5')],
  ['radseal private creator', str(t(0x0009, 0x0010), 'LO', 'FORGED 1.0')],
];

for (const [name, forged] of FORGED) {
  test(`duplicate ${name}: a forged copy before the signed one is invalid`, () => {
    const bytes = edit(s.bytes, (f) => insertBefore(f.dataSet, forged.tag, forged));
    const file = writeIn(s.dir, `dup-${forged.tag.toString(16)}.dcm`, bytes);
    assert.equal(dcmtkValue(file, forged.tag), new TextDecoder().decode(forged.value).trimEnd(), 'DCMTK shows the forged value');
    expectVerdict(verifyLib(s, bytes), 'invalid', DUPLICATE, forged.tag);
  });
}

test('duplicate Pixel Data: forged pixels before the signed Pixel Data are invalid', () => {
  const PX = t(0x7fe0, 0x0010);
  let fake = new Uint8Array(0);
  const bytes = edit(s.bytes, (f) => {
    const px = must(f.dataSet, PX);
    fake = px.value!.map((b, i) => (i % 2 ? b : b ^ 0x3c));
    insertBefore(f.dataSet, PX, bin(PX, 'OW', fake));
  });
  const file = writeIn(s.dir, 'dup-pixels.dcm', bytes);
  const outDir = join(s.dir, 'dup-pixels-raw');
  mkdirSync(outDir);
  assert.ok(dcmtkPixels(file, outDir).equals(Buffer.from(fake)), 'DCMTK keeps the forged Pixel Data');
  expectVerdict(verifyLib(s, bytes), 'invalid', DUPLICATE, PX);
});

test('duplicate Pixel Spacing (not written at seal): two copies, DCMTK reads the first', () => {
  const PS = t(0x0028, 0x0030);
  const bytes = edit(s.bytes, (f) => {
    insertSorted(f.dataSet, str(PS, 'DS', '0.5\\0.5'));
    insertSorted(f.dataSet, str(PS, 'DS', '0.139\\0.139'));
  });
  const file = writeIn(s.dir, 'dup-pixel-spacing.dcm', bytes);
  assert.equal(dcmtkValue(file, PS), '0.5\\0.5');
  expectVerdict(verifyLib(s, bytes), 'invalid', DUPLICATE, PS);
});

test('duplicate inside an item: a forged operator Code Value before the signed one is invalid', () => {
  const CODE = t(0x0008, 0x0100);
  const bytes = edit(s.bytes, (f) => {
    const person = must(must(f.dataSet, t(0x0008, 0x1072)).items![0]!.elements, t(0x0040, 0x1101)).items![0]!.elements;
    insertBefore(person, CODE, str(CODE, 'SH', 'tech999'));
  });
  const file = writeIn(s.dir, 'dup-in-item.dcm', bytes);
  assert.equal(dcmtkValue(file, CODE), 'tech999', 'DCMTK reads the forged operator');
  expectVerdict(verifyLib(s, bytes), 'invalid', DUPLICATE, CODE);
});

test('duplicate inside an item: a forged Anatomic Region code before the signed one is invalid', () => {
  const CODE = t(0x0008, 0x0100);
  const bytes = edit(s.bytes, (f) => {
    insertBefore(must(f.dataSet, t(0x0008, 0x2218)).items![0]!.elements, CODE, str(CODE, 'SH', '12345'));
  });
  const file = writeIn(s.dir, 'dup-anatomy.dcm', bytes);
  const dump = run('dcmdump', ['-q', file]).stdout;
  assert.match(dump, /AnatomicRegionSequence[\s\S]*?\(0008,0100\) SH \[12345\]/, 'DCMTK reads the forged code');
  expectVerdict(verifyLib(s, bytes), 'invalid', DUPLICATE, CODE);
});

test('duplicate with another VR: a forged Patient ID encoded as UN before the signed LO is invalid', () => {
  const PID = t(0x0010, 0x0020);
  const bytes = edit(s.bytes, (f) => insertBefore(f.dataSet, PID, bin(PID, 'UN', new TextEncoder().encode('FORGED-UN '))));
  const file = writeIn(s.dir, 'dup-un.dcm', bytes);
  // DCMTK keeps the first copy (the UN one) as Patient ID and drops the signed LO.
  assert.match(run('dcmdump', ['-q', '+P', '0010,0020', file]).stdout, /^\(0010,0020\) UN 46\\4f\\52/m);
  expectVerdict(verifyLib(s, bytes), 'invalid', DUPLICATE, PID);
});

test('duplicate private pixel hash (0009,1005): a forged copy before the signed one is invalid', () => {
  const HASH = t(0x0009, 0x1005);
  const bytes = edit(s.bytes, (f) => insertBefore(f.dataSet, HASH, bin(HASH, 'OB', new Uint8Array(32).fill(0xab))));
  expectVerdict(verifyLib(s, bytes), 'invalid', DUPLICATE, HASH);
});

test('duplicate Digital Signatures Sequence (FFFA,FFFA): a forged one before the real one is invalid', () => {
  const SIGS = t(0xfffa, 0xfffa);
  const bytes = edit(s.bytes, (f) => {
    const real = must(f.dataSet, SIGS);
    insertBefore(f.dataSet, SIGS, { ...real, items: real.items!.slice(0, 1).map((i) => ({ elements: i.elements.map((e) => (e.tag === t(0x0400, 0x0120) ? bin(e.tag, 'OB', new Uint8Array(64)) : e)) })) });
  });
  expectVerdict(verifyLib(s, bytes), 'invalid', DUPLICATE, SIGS);
});

test('duplicate inside a signature item: a forged purpose Code Value "1" before the signed "14" is invalid', () => {
  const CODE = t(0x0008, 0x0100);
  const bytes = edit(s.bytes, (f) => {
    const purpose = must(must(f.dataSet, t(0xfffa, 0xfffa)).items![0]!.elements, t(0x0400, 0x0401)).items![0]!.elements;
    insertBefore(purpose, CODE, str(CODE, 'SH', '1'));
  });
  expectVerdict(verifyLib(s, bytes), 'invalid', DUPLICATE, CODE);
});

test('out of order: Patient ID moved after Study Instance UID is invalid, naming the element', () => {
  const PID = t(0x0010, 0x0020);
  const bytes = edit(s.bytes, (f) => {
    const pid = remove(f.dataSet, PID);
    f.dataSet.splice(f.dataSet.findIndex((e) => e.tag === t(0x0020, 0x000d)) + 1, 0, pid);
  });
  const file = writeIn(s.dir, 'order.dcm', bytes);
  assert.equal(dcmtkValue(file, PID), 'PID-0001', 'DCMTK reads it (and sorts it back)');
  expectVerdict(verifyLib(s, bytes), 'invalid', /order/i, PID);
});

test('out of order inside an item: Code Value after Coding Scheme Designator is invalid', () => {
  const bytes = edit(s.bytes, (f) => {
    const item = must(f.dataSet, t(0x0008, 0x2218)).items![0]!.elements;
    const code = remove(item, t(0x0008, 0x0100));
    item.splice(1, 0, code);
  });
  const r = verifyLib(s, bytes);
  expectVerdict(r, 'invalid', /order/i);
  assert.ok(r.reasons.some((x) => /\(0008,010[02]\)/.test(x)), r.reasons.join(' | '));
});

// A complete element after the Digital Signatures Sequence (the last element radseal writes) that is not
// Data Set Trailing Padding: the spec calls this trailing content, `invalid`, rather than an unsigned addition.
test('trailing: an element after the Digital Signatures Sequence (not padding) is invalid', () => {
  const TRAIL = t(0xfffb, 0x0010);
  const bytes = Buffer.concat([s.bytes, encodeDataSet([str(TRAIL, 'LO', 'AFTER THE END')])]);
  const file = writeIn(s.dir, 'trailing.dcm', bytes);
  assert.equal(dcmtkValue(file, TRAIL), 'AFTER THE END', 'DCMTK reads the trailing element');
  expectVerdict(verifyLib(s, bytes), 'invalid', /after the last element|trailing/i, TRAIL);
});

test('trailing: a Patient ID after Data Set Trailing Padding (FFFC,FFFC) is invalid', () => {
  const bytes = Buffer.concat([s.bytes, encodeDataSet([bin(t(0xfffc, 0xfffc), 'OB', new Uint8Array(16)), str(t(0x0010, 0x0020), 'LO', 'FORGED-ID')])]);
  const r = verifyLib(s, bytes);
  // This element is also a duplicate and out of order: any of the structural reasons names it.
  expectVerdict(r, 'invalid', /after the last element|trailing|order|twice|duplicate/i, t(0x0010, 0x0020));
});

test('trailing: stray bytes too short to be an element after the last element are invalid', () => {
  const bytes = Buffer.concat([s.bytes, Buffer.from([0x10, 0x00, 0x20, 0x00, 0x4c, 0x4f])]);
  expectVerdict(verifyLib(s, bytes), 'invalid', /after the last element|trailing/i);
});
