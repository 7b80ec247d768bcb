// The parts of a Part 10 file outside every signature: the 128-byte preamble
// (where a file can also be a Windows executable, an HTML page, a shell
// script or a PDF: a polyglot) and the File Meta Information, whose SOP
// Class/Instance UIDs a PACS may index by. Both must agree with what was
// signed; otherwise `invalid`, naming the part.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../support/run.js';
import { run } from '../dicom/fixtures.js';
import { sealedObject, verifyLib, expectVerdict, writeIn, dcmtkValue, type Sealed } from './support.js';
import { edit, must, str, t, writePart10, parsePart10, encodeDataSet } from '../../attacks/part10.js';

const dir = tempDir('radseal-attack-preamble-');
let s: Sealed;
before(async () => {
  s = await sealedObject(dir);
});

function peStub(): Uint8Array {
  const p = new Uint8Array(128);
  p.set([0x4d, 0x5a]); // "MZ"
  new DataView(p.buffer).setUint32(0x3c, 0x40, true); // e_lfanew -> PE header inside the preamble
  p.set([0x50, 0x45, 0, 0, 0x4c, 0x01, 0x01, 0x00], 0x40); // "PE\0\0", i386, one section
  new DataView(p.buffer).setUint16(0x54, 0xe0, true); // size of optional header
  new DataView(p.buffer).setUint16(0x56, 0x0102, true); // characteristics: executable, 32-bit
  return p;
}
const textPreamble = (s: string) => {
  const p = new Uint8Array(128);
  p.set(new TextEncoder().encode(s));
  return p;
};

// file(1) names the other format where it ranks it above the DICOM magic at byte 128 (not for PE or HTML).
const PREAMBLES: Array<[string, Uint8Array, RegExp | null]> = [
  ['"MZ" and a PE header (Windows executable)', peStub(), null],
  ['"<html>"', textPreamble('<html><body><script>alert(1)</script></body></html>\n<!--'), null],
  ['"#!/bin/sh"', textPreamble('#!/bin/sh\necho owned; exit 0\n'), /shell script/i],
  ['"%PDF"', textPreamble('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n'), /PDF/i],
];

test('control: the sealed object (zero preamble, meta header matching the data set) is authentic', () => {
  assert.equal(verifyLib(s, s.bytes).verdict, 'authentic', verifyLib(s, s.bytes).reasons.join(' | '));
});

for (const [name, preamble, fileSays] of PREAMBLES) {
  test(`preamble holding ${name}: invalid, naming the preamble`, () => {
    const bytes = edit(s.bytes, (f) => void (f.preamble = preamble));
    const file = writeIn(dir, `preamble-${name.replace(/\W+/g, '')}.dcm`, bytes);
    if (fileSays) assert.match(run('file', ['-b', file]).stdout, fileSays, 'file(1) sees the other format');
    assert.equal(dcmtkValue(file, t(0x0010, 0x0020)), 'PID-0001', 'and DCMTK still reads it as DICOM');
    expectVerdict(verifyLib(s, bytes), 'invalid', /preamble/i);
  });
}

const META = /meta/i;
test('Media Storage SOP Instance UID (0002,0003) differing from SOP Instance UID: invalid, naming the meta header', () => {
  const bytes = edit(s.bytes, (f) => void (must(f.meta, t(0x0002, 0x0003)).value = str(t(0x0002, 0x0003), 'UI', '2.25.1234567890').value));
  const file = writeIn(dir, 'meta-instance.dcm', bytes);
  assert.equal(dcmtkValue(file, t(0x0002, 0x0003)), '2.25.1234567890');
  expectVerdict(verifyLib(s, bytes), 'invalid', META);
});

test('Media Storage SOP Class UID (0002,0002) differing from SOP Class UID: invalid, naming the meta header', () => {
  const CR = '1.2.840.10008.5.1.4.1.1.1';
  const bytes = edit(s.bytes, (f) => void (must(f.meta, t(0x0002, 0x0002)).value = str(t(0x0002, 0x0002), 'UI', CR).value));
  const file = writeIn(dir, 'meta-class.dcm', bytes);
  assert.match(run('dcmdump', ['-q', '+P', '0002,0002', file]).stdout, /ComputedRadiographyImageStorage/);
  expectVerdict(verifyLib(s, bytes), 'invalid', META);
});

// A meta group length stretched over a forged element placed between the meta header and the data
// set: a reader that trusts (0002,0000) files the forgery under the meta header, DCMTK reads it as
// the first Specific Character Set (and ignores the signed one as a duplicate).
for (const stretched of [true, false]) {
  test(`forged Specific Character Set between meta header and data set (group length ${stretched ? 'stretched over it' : 'unchanged'}): invalid`, () => {
    const out = writePart10(parsePart10(s.bytes));
    const forged = encodeDataSet([str(t(0x0008, 0x0005), 'CS', 'ISO_IR 100')]);
    const metaLen = new DataView(out.buffer).getUint32(140, true);
    const metaEnd = 144 + metaLen;
    const bytes = Buffer.concat([out.subarray(0, metaEnd), forged, out.subarray(metaEnd)]);
    if (stretched) bytes.writeUInt32LE(metaLen + forged.length, 140);
    const file = writeIn(dir, `meta-stretch-${stretched}.dcm`, bytes);
    assert.equal(dcmtkValue(file, t(0x0008, 0x0005)), 'ISO_IR 100', 'DCMTK reads the forged character set first');
    expectVerdict(verifyLib(s, bytes), 'invalid', /meta|twice|duplicate/i);
  });
}
