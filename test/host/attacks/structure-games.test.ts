// Structure and encoding games on a genuine sealed object, each of which a
// viewer may read differently from what was signed: delimitation items whose
// (unsigned) length field carries bytes, a signed value re-labelled with another
// VR over the same bytes, a signed sequence re-encoded as UN, Specific Character
// Set games (another charset for the signed names, one inside an item),
// Data Elements Signed naming an element that is not there, the MAC
// Calculation Transfer Syntax relabelled, stray delimiters
// and items, and Pixel Data swapped between two genuine objects of one device.
// None may verify authentic; the genuine undefined-length re-encoding stays so.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../support/run.js';
import { run, PYTHON, sealTo, testFrame } from '../dicom/fixtures.js';
import { sealedObject, verifyLib, expectVerdict, expectNotAuthentic, writeIn, dcmtkValue, ROWS, COLS, type Sealed } from './support.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import {
  edit, insertSorted, must, parsePart10, writePart10, str, t, ITEM, ITEM_END, SEQ_END, type Node,
} from '../../attacks/part10.js';

const dir = tempDir('radseal-attack-structure-');
let s: Sealed;
let other: Uint8Array;
before(async () => {
  s = await sealedObject(dir);
  // A second genuine object of the same device, same geometry, another frame.
  other = await sealTo(join(dir, 'other.dcm'), testFrame(ROWS, COLS, 14, 2), s.ids.deviceWithEcdsa, { technologist: s.ids.technologist });
});

const OPERATOR_ID_SEQ = t(0x0008, 0x1072);
const CODE_VALUE = t(0x0008, 0x0100);
const CHARSET = t(0x0008, 0x0005);
const PIXEL_DATA = t(0x7fe0, 0x0010);

/** The object with every sequence and item of undefined length (a genuine re-encoding). */
const undefinedLengths = () => writePart10(parsePart10(s.bytes), { undefinedLengths: true });

/** `bytes` with the length field of the n-th delimitation item with this tag set to `length`. */
function delimiterLength(bytes: Uint8Array, delimiter: number, n: number, length: number): Uint8Array {
  const out = Buffer.from(bytes);
  const pattern = Buffer.alloc(8);
  pattern.writeUInt16LE(delimiter >>> 16, 0);
  pattern.writeUInt16LE(delimiter & 0xffff, 2);
  let at = -1;
  for (let i = 0; i <= n; i++) at = out.indexOf(pattern, at + 1);
  assert.ok(at > 0, 'no such delimitation item');
  out.writeUInt32LE(length, at + 4);
  return out;
}

test('control: the object re-encoded with undefined lengths (zero-length delimiters) is authentic', () => {
  const r = verifyLib(s, undefinedLengths());
  assert.equal(r.verdict, 'authentic', r.reasons.join(' | '));
});

for (const [name, delimiter] of [['item', ITEM_END], ['sequence', SEQ_END]] as const) {
  test(`${name} delimitation item whose length field holds 4 bytes (unsigned): invalid, named; DCMTK reads on${name === 'item' ? ', pydicom cannot read it' : ''}`, () => {
    const bytes = delimiterLength(undefinedLengths(), delimiter, 0, 0x44434241);
    const file = writeIn(dir, `${name}-delimiter-length.dcm`, bytes);
    expectVerdict(verifyLib(s, bytes), 'invalid', new RegExp(`${name} delimitation \\(FFFE,${name === 'item' ? 'E00D' : 'E0DD'}\\).* has length 1145258561, not 0: content outside every signature`));
    // DCMTK shows the signed values; for an item delimitation, pydicom refuses the whole file.
    assert.equal(dcmtkValue(file, CODE_VALUE), 'tech042');
    const py = run(PYTHON, ['-c', 'import sys, pydicom; pydicom.dcmread(sys.argv[1]).PatientName', file]);
    assert.equal(py.status === 0, name === 'sequence', `pydicom: ${py.status} ${py.stderr.slice(-200)}`);
  });
}

test('encapsulated Pixel Data ending with a sequence delimitation of non-zero length: an anomaly of the reader', () => {
  const bytes = edit(s.bytes, (f) => {
    must(f.meta, t(0x0002, 0x0010)).value = str(0, 'UI', '1.2.840.10008.1.2.5').value;
    const px = must(f.dataSet, PIXEL_DATA);
    const items = Buffer.alloc(24);
    items.writeUInt32LE(0xe000fffe, 0); // basic offset table, empty
    items.writeUInt32LE(0xe000fffe, 8);
    items.writeUInt32LE(0, 12); // an empty fragment
    items.writeUInt32LE(0xe0ddfffe, 16);
    items.writeUInt32LE(7, 20);
    const header = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    px.raw = Buffer.concat([header, items]);
  });
  const parsed = readPart10(bytes);
  assert.ok(parsed.anomalies.some((a) => /sequence delimitation \(FFFE,E0DD\) ending encapsulated Pixel Data has length 7, not 0/.test(a)), parsed.anomalies.join(' | '));
  expectNotAuthentic(verifyLib(s, bytes));
});

// The same value bytes under another VR: DCMTK and most viewers read by the explicit VR (SS: signed
// pixels; OB: bytes, no byte swapping), and the MAC stream carries the VR, so every signature fails.
const relabels: Array<[string, number, string]> = [
  ['Pixel Representation US → SS', t(0x0028, 0x0103), 'SS'],
  ['Rows US → SS', t(0x0028, 0x0010), 'SS'],
  ['Pixel Data OW → OB', PIXEL_DATA, 'OB'],
  ["Patient's Name PN → LO", t(0x0010, 0x0010), 'LO'],
  ['Window Center DS → IS', t(0x0028, 0x1050), 'IS'],
];
for (const [name, tag, vr] of relabels) {
  test(`a signed value re-labelled with another VR (${name}): not authentic, every signature fails`, () => {
    const r = verifyLib(s, edit(s.bytes, (f) => { must(f.dataSet, tag).vr = vr; }));
    expectNotAuthentic(r);
    assert.ok(r.signatures.filter((x) => x.role === 'device').every((x) => !x.valid), JSON.stringify(r.signatures));
  });
}

/** Elements in Implicit VR Little Endian, sequences and items of undefined length (what a UN sequence holds, PS3.5 6.2.2). */
function implicit(nodes: Node[]): Buffer {
  const parts: Buffer[] = [];
  const head = (tag: number, length: number) => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(tag >>> 16, 0);
    b.writeUInt16LE(tag & 0xffff, 2);
    b.writeUInt32LE(length >>> 0, 4);
    return b;
  };
  for (const n of nodes) {
    if (n.items) {
      parts.push(head(n.tag, 0xffffffff));
      for (const item of n.items) parts.push(head(ITEM, 0xffffffff), implicit(item.elements), head(ITEM_END, 0));
      parts.push(head(SEQ_END, 0));
    } else parts.push(head(n.tag, n.value!.length), Buffer.from(n.value!));
  }
  return Buffer.concat(parts);
}

test('a signed sequence re-encoded as UN of undefined length (DCMTK reads it as the same sequence): not authentic, named', () => {
  const bytes = edit(s.bytes, (f) => {
    const seq = must(f.dataSet, OPERATOR_ID_SEQ);
    const header = Buffer.from([0x08, 0x00, 0x72, 0x10, 0x55, 0x4e, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    const body = implicit(seq.items!.map((i) => ({ tag: 0, vr: '', items: [i] }))).subarray(8); // the items, then the delimitation
    seq.raw = Buffer.concat([header, body]);
  });
  const file = writeIn(dir, 'un-sequence.dcm', bytes);
  assert.equal(dcmtkValue(file, CODE_VALUE), 'tech042');
  expectNotAuthentic(verifyLib(s, bytes), OPERATOR_ID_SEQ);
});

// Specific Character Set decides how every signed name is decoded: it is signed itself, and any
// one added inside an item changes that item's MAC stream.
const charsets: Array<[string, (f: ReturnType<typeof parsePart10>) => void]> = [
  ['changed to ISO_IR 100 (Latin-1)', (f) => { must(f.dataSet, CHARSET).value = str(CHARSET, 'CS', 'ISO_IR 100').value; }],
  ['changed to ISO 2022 (IR 6 and IR 87, escape sequences)', (f) => { must(f.dataSet, CHARSET).value = str(CHARSET, 'CS', 'ISO 2022 IR 6\\ISO 2022 IR 87').value; }],
  ['removed', (f) => { f.dataSet = f.dataSet.filter((e) => e.tag !== CHARSET); }],
  ['added inside the signed Anatomic Region item', (f) => { must(f.dataSet, t(0x0008, 0x2218)).items![0]!.elements.unshift(str(CHARSET, 'CS', 'ISO_IR 100')); }],
  ['added inside a signature item\'s purpose code item', (f) => { must(must(f.dataSet, t(0xfffa, 0xfffa)).items![0]!.elements, t(0x0400, 0x0401)).items![0]!.elements.unshift(str(CHARSET, 'CS', 'ISO_IR 100')); }],
];
for (const [name, change] of charsets) {
  test(`Specific Character Set ${name}: not authentic`, () => {
    const r = verifyLib(s, edit(s.bytes, change));
    expectNotAuthentic(r);
    assert.ok(r.signatures.some((x) => !x.valid), JSON.stringify(r.signatures));
  });
}

test('Data Elements Signed lengthened with an element the object does not hold: not authentic, the element named', () => {
  const spacing = t(0x0028, 0x0030);
  const bytes = edit(s.bytes, (f) => {
    const list = must(must(f.dataSet, t(0x4ffe, 0x0001)).items![0]!.elements, t(0x0400, 0x0020));
    const v = Buffer.from(list.value!);
    const tags = Array.from({ length: v.length / 4 }, (_, i) => t(v.readUInt16LE(4 * i), v.readUInt16LE(4 * i + 2)));
    // In data set order, where the element would stand, as a signer would have listed it.
    tags.push(spacing);
    tags.sort((a, b) => a - b);
    list.value = Buffer.concat(tags.map((x) => { const b = Buffer.alloc(4); b.writeUInt16LE(x >>> 16, 0); b.writeUInt16LE(x & 0xffff, 2); return b; }));
  });
  expectVerdict(verifyLib(s, bytes), 'tampered', /signed element \(0028,0030\) is missing/, spacing);
});

for (const [name, uid] of [['Implicit VR Little Endian', '1.2.840.10008.1.2'], ['Explicit VR Big Endian', '1.2.840.10008.1.2.2'], ['Deflated Explicit VR Little Endian', '1.2.840.10008.1.2.1.99']] as const) {
  test(`MAC Calculation Transfer Syntax UID of every signature relabelled ${name}: invalid, no signature can be checked`, () => {
    const bytes = edit(s.bytes, (f) => {
      for (const item of must(f.dataSet, t(0x4ffe, 0x0001)).items!) must(item.elements, t(0x0400, 0x0010)).value = str(0, 'UI', uid).value;
    });
    const r = verifyLib(s, bytes);
    expectVerdict(r, 'invalid', new RegExp(`unsupported MAC calculation transfer syntax ${uid.replace(/\./g, '\\.')}`));
    assert.ok(r.signatures.every((x) => !x.valid));
  });
}

test('stray structure: an item at the top level, a sequence delimitation inside an item: invalid, cannot parse', () => {
  const item: Node = { tag: ITEM, vr: '', raw: Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0, 0, 0, 0]) };
  const top = edit(s.bytes, (f) => { f.dataSet.splice(f.dataSet.findIndex((e) => e.tag === t(0x0010, 0x0010)), 0, item); });
  expectVerdict(verifyLib(s, top), 'invalid', /cannot parse DICOM: \(FFFE,E000\) outside a sequence/);
  const inItem = edit(s.bytes, (f) => {
    must(f.dataSet, t(0x0008, 0x2218)).items![0]!.elements.push({ tag: SEQ_END, vr: '', raw: Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]) });
  });
  expectVerdict(verifyLib(s, inItem), 'invalid', /cannot parse DICOM: \(FFFE,E0DD\) outside a sequence/);
});

test('Pixel Data swapped between two genuine objects of one device (alone, or with the whole capture attestation): tampered', () => {
  const pixelsOf = (b: Uint8Array) => must(parsePart10(b).dataSet, PIXEL_DATA);
  assert.equal(verifyLib(s, other).verdict, 'authentic');
  const swapped = edit(s.bytes, (f) => { must(f.dataSet, PIXEL_DATA).value = pixelsOf(other).value; });
  expectVerdict(verifyLib(s, swapped), 'tampered', /Pixel Data does not match the pixel hash/);
  const theirs = parsePart10(other).dataSet.filter((e) => e.tag >>> 16 === 0x0009 || e.tag === PIXEL_DATA);
  const withAttestation = edit(s.bytes, (f) => {
    f.dataSet = f.dataSet.filter((e) => e.tag >>> 16 !== 0x0009 && e.tag !== PIXEL_DATA);
    for (const e of theirs) insertSorted(f.dataSet, e);
  });
  const r = verifyLib(s, withAttestation);
  assert.equal(r.verdict, 'tampered', r.reasons.join(' | '));
  // The pixels now match the attestation beside them, but no device signature covers the pair in this object.
  assert.ok(r.signatures.filter((x) => x.role.startsWith('device')).every((x) => !x.valid), JSON.stringify(r.signatures));
});
