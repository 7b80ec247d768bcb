// Elements added after sealing that no device signature covers, but that a
// viewer applies: overlays, shutters, LUTs, padding, spacing, annotations,
// icons, frame count, a second radseal private block, UN copies of the
// private attributes. Each addition is placed in ascending tag order (so it is
// not a structural problem), DCMTK is shown to read it, and radseal must not
// call the object authentic and must name the element. Elements the seal
// already writes are changed instead: any signature then fails.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/run.js';
import { run, python } from '../dicom/fixtures.js';
import { sealedObject, verifyLib, expectNotAuthentic, writeIn, dcmtkValue, opensslSigner, type Sealed, type Report } from './support.js';
import { edit, insertSorted, must, str, us, bin, seq, t, tagText, type Node } from '../../attacks/part10.js';

const dir = tempDir('radseal-attack-add-');
let s: Sealed;
before(async () => {
  s = await sealedObject(dir);
});

const ds = (tag: number, v: string) => str(tag, 'DS', v);
const lut = (entries: number) => {
  const data = new Uint8Array(entries * 2);
  for (let i = 0; i < entries; i++) new DataView(data.buffer).setUint16(2 * i, (entries - 1 - i) * 16, true);
  return data;
};
const lutDescriptor = (tag: number, entries: number) => {
  const v = new Uint8Array(6);
  const d = new DataView(v.buffer);
  d.setUint16(0, entries, true);
  d.setUint16(2, 0, true);
  d.setUint16(4, 16, true);
  return { tag, vr: 'US', value: v } as Node;
};

function namesAny(r: Report, pattern: RegExp): void {
  assert.notEqual(r.verdict, 'authentic', r.reasons.join(' | '));
  assert.ok(r.reasons.some((x) => pattern.test(x.toUpperCase())), `no reason names ${pattern}: ${r.verdict}: ${r.reasons.join(' | ')}`);
}

interface Addition {
  name: string;
  elements: () => Node[];
  /** The element DCMTK must be shown to read. */
  shown: number;
  /** Tags a reason must name (any of them). */
  named: RegExp;
}

const overlayBits = new Uint8Array((64 * 80) / 8).fill(0xff);
const ADDITIONS: Addition[] = [
  {
    name: 'overlay plane (6000,xxxx)', shown: t(0x6000, 0x3000), named: /\(6000,[0-9A-F]{4}\)/,
    elements: () => [us(t(0x6000, 0x0010), 64), us(t(0x6000, 0x0011), 80), str(t(0x6000, 0x0040), 'CS', 'G'),
      { tag: t(0x6000, 0x0050), vr: 'SS', value: new Uint8Array([1, 0, 1, 0]) }, us(t(0x6000, 0x0100), 1), us(t(0x6000, 0x0102), 0),
      bin(t(0x6000, 0x3000), 'OW', overlayBits)],
  },
  {
    name: 'display shutter (0018,1600..1608)', shown: t(0x0018, 0x1600), named: /\(0018,160[0-8]\)/,
    elements: () => [str(t(0x0018, 0x1600), 'CS', 'RECTANGULAR'), str(t(0x0018, 0x1602), 'IS', '10'), str(t(0x0018, 0x1604), 'IS', '30'),
      str(t(0x0018, 0x1606), 'IS', '10'), str(t(0x0018, 0x1608), 'IS', '30')],
  },
  { name: 'Pixel Padding Value (0028,0120)', shown: t(0x0028, 0x0120), named: /\(0028,0120\)/, elements: () => [us(t(0x0028, 0x0120), 8000)] },
  {
    name: 'Pixel Padding Range Limit (0028,0121)', shown: t(0x0028, 0x0121), named: /\(0028,012[01]\)/,
    elements: () => [us(t(0x0028, 0x0120), 0), us(t(0x0028, 0x0121), 9000)],
  },
  {
    name: 'Modality LUT Sequence (0028,3000)', shown: t(0x0028, 0x3000), named: /\(0028,3000\)/,
    elements: () => [seq(t(0x0028, 0x3000), [[lutDescriptor(t(0x0028, 0x3002), 256), str(t(0x0028, 0x3004), 'LO', 'US'), bin(t(0x0028, 0x3006), 'OW', lut(256))]])],
  },
  {
    name: 'VOI LUT Sequence (0028,3010)', shown: t(0x0028, 0x3010), named: /\(0028,3010\)/,
    elements: () => [seq(t(0x0028, 0x3010), [[lutDescriptor(t(0x0028, 0x3002), 256), bin(t(0x0028, 0x3006), 'OW', lut(256))]])],
  },
  { name: 'Pixel Spacing (0028,0030), not written at seal', shown: t(0x0028, 0x0030), named: /\(0028,0030\)/, elements: () => [ds(t(0x0028, 0x0030), '0.5\\0.5')] },
  { name: 'Pixel Spacing Calibration Type (0028,0A02)', shown: t(0x0028, 0x0a02), named: /\(0028,0A02\)/, elements: () => [str(t(0x0028, 0x0a02), 'CS', 'GEOMETRY')] },
  { name: 'Float Pixel Data (7FE0,0008)', shown: t(0x7fe0, 0x0008), named: /\(7FE0,0008\)/, elements: () => [bin(t(0x7fe0, 0x0008), 'OF', new Uint8Array(64 * 80 * 4).fill(0x40))] },
  {
    name: 'Icon Image Sequence (0088,0200)', shown: t(0x0088, 0x0200), named: /\(0088,0200\)/,
    elements: () => [seq(t(0x0088, 0x0200), [[us(t(0x0028, 0x0002), 1), str(t(0x0028, 0x0004), 'CS', 'MONOCHROME2'), us(t(0x0028, 0x0010), 8), us(t(0x0028, 0x0011), 8),
      us(t(0x0028, 0x0100), 8), us(t(0x0028, 0x0101), 8), us(t(0x0028, 0x0102), 7), us(t(0x0028, 0x0103), 0), bin(t(0x7fe0, 0x0010), 'OB', new Uint8Array(64).fill(200))]])],
  },
  {
    name: 'Graphic Annotation Sequence (0070,0001)', shown: t(0x0070, 0x0001), named: /\(0070,0001\)/,
    elements: () => [seq(t(0x0070, 0x0001), [[str(t(0x0070, 0x0002), 'CS', 'LAYER1'),
      seq(t(0x0070, 0x0008), [[str(t(0x0070, 0x0003), 'CS', 'PIXEL'), str(t(0x0070, 0x0006), 'ST', 'NO FRACTURE SEEN')]])]])],
  },
  { name: 'Number of Frames (0028,0008)', shown: t(0x0028, 0x0008), named: /\(0028,0008\)/, elements: () => [str(t(0x0028, 0x0008), 'IS', '2')] },
  {
    name: 'a second radseal private block (0009,0011) with the same creator', shown: t(0x0009, 0x0011), named: /\(0009,(0011|11[0-9A-F]{2})\)/,
    elements: () => [str(t(0x0009, 0x0011), 'LO', 'RADSEAL 1.0'), str(t(0x0009, 0x1101), 'LO', 'DX-FORGED'), { tag: t(0x0009, 0x1102), vr: 'UL', value: new Uint8Array([9, 0, 0, 0]) }],
  },
];

test('control: the sealed object is authentic', () => {
  const r = verifyLib(s, s.bytes);
  assert.equal(r.verdict, 'authentic', r.reasons.join(' | '));
});

for (const a of ADDITIONS) {
  test(`added after signing: ${a.name} is not authentic and is named`, () => {
    const bytes = edit(s.bytes, (f) => { for (const e of a.elements()) insertSorted(f.dataSet, e); });
    const file = writeIn(s.dir, `add-${a.shown.toString(16)}.dcm`, bytes);
    assert.notEqual(dcmtkValue(file, a.shown), null, `DCMTK reads ${tagText(a.shown)}`);
    namesAny(verifyLib(s, bytes), a.named);
  });
}

test('added after signing: a UN copy of the private attestation in another block is not authentic and is named', () => {
  const bytes = edit(s.bytes, (f) => {
    const attestation = f.dataSet.filter((e) => e.tag >>> 16 === 0x0009 && (e.tag & 0xff00) === 0x1000);
    insertSorted(f.dataSet, bin(t(0x0009, 0x0012), 'UN', new TextEncoder().encode('RADSEAL 1.0 ')));
    for (const e of attestation) insertSorted(f.dataSet, { tag: t(0x0009, 0x1200 | (e.tag & 0xff)), vr: 'UN', value: e.tag === t(0x0009, 0x1001) ? new TextEncoder().encode('DX-FORGED ') : e.value });
  });
  const file = writeIn(s.dir, 'add-un-copy.dcm', bytes);
  assert.notEqual(dcmtkValue(file, t(0x0009, 0x1201)), null, 'DCMTK reads the UN copy');
  namesAny(verifyLib(s, bytes), /\(0009,(0012|12[0-9A-F]{2})\)/);
});

// The MAC rules leave UN elements out of every signature, but readers give a UN element of a known
// tag its real VR (pydicom does by default): a UN Pixel Spacing changes every measurement.
test('added after signing: Pixel Spacing (0028,0030) encoded as UN is not authentic and is named', () => {
  const PS = t(0x0028, 0x0030);
  const bytes = edit(s.bytes, (f) => insertSorted(f.dataSet, bin(PS, 'UN', new TextEncoder().encode('0.5\\0.5'))));
  const file = writeIn(s.dir, 'add-un-pixel-spacing.dcm', bytes);
  assert.equal(python(`import pydicom,sys; e=pydicom.dcmread(sys.argv[1])['PixelSpacing']; print(e.VR, list(e.value))`, [file]).trim(), "DS ['0.5', '0.5']", 'pydicom reads it as DS');
  namesAny(verifyLib(s, bytes), /\(0028,0030\)/);
});

test('added after signing: an element of group 0002 inside the data set is not authentic', () => {
  const bytes = edit(s.bytes, (f) => void f.dataSet.unshift(str(t(0x0002, 0x0016), 'AE', 'FORGED')));
  expectNotAuthentic(verifyLib(s, bytes));
});

// Elements the seal writes: a change breaks every signature over them (the verifier cannot know which one changed).
const CHANGES: Array<[string, Node]> = [
  ['Imager Pixel Spacing (0018,1164)', str(t(0x0018, 0x1164), 'DS', '0.5\\0.5')],
  ['Image Laterality (0020,0062)', str(t(0x0020, 0x0062), 'CS', 'L')],
  ['Rescale Slope (0028,1053)', str(t(0x0028, 0x1053), 'DS', '3')],
  ['Rescale Intercept (0028,1052)', str(t(0x0028, 0x1052), 'DS', '-500')],
  ['Presentation LUT Shape (2050,0020)', str(t(0x2050, 0x0020), 'CS', 'INVERSE')],
];
for (const [name, changed] of CHANGES) {
  test(`changed after signing: ${name} is not authentic`, () => {
    const bytes = edit(s.bytes, (f) => { const e = must(f.dataSet, changed.tag); e.value = changed.value; });
    expectNotAuthentic(verifyLib(s, bytes));
  });
}

// Signatures made by DCMTK vouch like radseal's (docs/CONFORMANCE.md §3): they must not be fooled either.
test('dcmsign-signed object (all elements, purpose 14): positive control authentic, an added overlay is not', () => {
  const bare = join(dir, 'dcmsign-bare.dcm');
  assert.equal(run('dcmsign', ['--remove-all', s.file, bare]).status, 0);
  const ec = opensslSigner(dir, 'DX-ROOM-3');
  const signedFile = join(dir, 'dcmsign-full.dcm');
  const r = run('dcmsign', ['--sign', ec.key, ec.cert, '+sp', '14', '+m2', bare, signedFile]);
  assert.equal(r.status, 0, r.stderr);
  const trustPem = writeIn(dir, 'trust-dcmsign.pem', Buffer.from(readFileSync(s.ids.trustPem, 'utf8') + readFileSync(ec.cert, 'utf8')));
  const signed = new Uint8Array(readFileSync(signedFile));
  const control = verifyLib(s, signed, { trustPem });
  assert.equal(control.verdict, 'authentic', 'positive control: ' + control.reasons.join(' | '));
  const overlay = edit(signed, (f) => { for (const e of ADDITIONS[0]!.elements()) insertSorted(f.dataSet, e); });
  namesAny(verifyLib(s, overlay, { trustPem }), /\(6000,[0-9A-F]{4}\)/);
});

test('dcmsign-signed object covering only the minimum signed set: the uncovered elements (windowing, orientation...) leave it not authentic', () => {
  const bare = join(dir, 'dcmsign-bare2.dcm');
  assert.equal(run('dcmsign', ['--remove-all', s.file, bare]).status, 0);
  const ec = opensslSigner(dir, 'DX-ROOM-3');
  const out = join(dir, 'dcmsign-subset.dcm');
  const minimum = ['7fe0,0010', '0008,0016', '0008,0018', '0020,000d', '0020,000e', '0010,0010', '0010,0020', '0009,0010', '0009,1001', '0009,1004', '0009,1005'];
  const r = run('dcmsign', ['--sign', ec.key, ec.cert, '+sp', '14', '+m2', ...minimum.flatMap((x) => ['-t', x]), bare, out]);
  assert.equal(r.status, 0, r.stderr);
  const trustPem = writeIn(dir, 'trust-dcmsign2.pem', Buffer.from(readFileSync(s.ids.trustPem, 'utf8') + readFileSync(ec.cert, 'utf8')));
  const rep = verifyLib(s, new Uint8Array(readFileSync(out)), { trustPem });
  // Many elements are uncovered here; a verifier may list only some, so only the verdict is asserted.
  expectNotAuthentic(rep);
});
