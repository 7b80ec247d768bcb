// The Part 10 reader: reads what DCMTK reads (the first copy of a duplicate), names every
// ambiguity, and refuses what would exhaust it. Data sets are put together element by
// element here so that duplicates, order and lengths are exactly what each case needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { readPart10, readPart10Meta, DicomFormatError } from '../../../host/dicom/reader.js';
import { encodeDataSet, wrapPart10, encodePart10 } from '../../../host/dicom/writer.js';
import { findElement, tag, type Element } from '../../../host/dicom/model.js';
import { decodeString, str, us, ob, sq } from '../../../host/dicom/values.js';
import { writeMacStream } from '../../../host/dicom/mac.js';

const SOP_CLASS = '1.2.840.10008.5.1.4.1.1.1.1';
const UIDV = '1.2.3.4';
const meta = { sopClassUid: SOP_CLASS, sopInstanceUid: UIDV };
const concat = (...parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));
const enc = (...els: Element[]) => encodeDataSet(els);
const base = [str(tag(0x0008, 0x0016), 'UI', SOP_CLASS), str(tag(0x0008, 0x0018), 'UI', UIDV)];
const file = (...body: Uint8Array[]) => wrapPart10(meta, concat(enc(...base), ...body));

test('a duplicate element: the first copy is kept (as DCMTK does) and the duplicate is named, at the top level and in items', () => {
  const forged = ob(tag(0x7fe0, 0x0010), new Uint8Array([1, 2, 3, 4]));
  const signed = ob(tag(0x7fe0, 0x0010), new Uint8Array([9, 9, 9, 9]));
  const p = readPart10(file(enc(forged), enc(signed)));
  assert.deepEqual([...findElement(p.dataSet, tag(0x7fe0, 0x0010))!.value!], [1, 2, 3, 4]);
  assert.ok(p.anomalies.some((a) => /\(7FE0,0010\) occurs twice/.test(a)), p.anomalies.join('; '));

  const item = concat(enc(str(tag(0x0008, 0x0100), 'SH', 'A')), enc(str(tag(0x0008, 0x0100), 'SH', 'B')));
  const seq = seqBytes(tag(0x0008, 0x1072), [item], false);
  const q = readPart10(file(seq));
  const first = findElement(q.dataSet, tag(0x0008, 0x1072))!.items![0]!;
  assert.equal(decodeString(findElement(first, tag(0x0008, 0x0100))!.value), 'A');
  assert.ok(q.anomalies.some((a) => /\(0008,0100\) occurs twice in \(0008,1072\) item 1/.test(a)), q.anomalies.join('; '));
});

test('elements out of ascending order and bytes after the last element are named', () => {
  const p = readPart10(file(enc(str(tag(0x0010, 0x0020), 'LO', 'PID')), enc(str(tag(0x0010, 0x0010), 'PN', 'Doe'))));
  assert.ok(p.anomalies.some((a) => /\(0010,0010\) is out of ascending tag order/.test(a)), p.anomalies.join('; '));
  assert.deepEqual(p.dataSet.map((e) => e.tag), [...base.map((e) => e.tag), tag(0x0010, 0x0010), tag(0x0010, 0x0020)], 'the model is sorted, like DCMTK');
  const q = readPart10(file(new Uint8Array([1, 2, 3, 4])));
  assert.ok(q.anomalies.some((a) => /4 byte\(s\) after the last element/.test(a)), q.anomalies.join('; '));
  assert.deepEqual(readPart10(file(enc(str(tag(0x0010, 0x0010), 'PN', 'Doe')))).anomalies, [], 'a clean file has none');
});

test('undefined-length sequences and items, group lengths and padding read as the same data set and give the same MAC stream', () => {
  const child = enc(str(tag(0x0008, 0x0100), 'SH', 'CODE'));
  const defined = file(seqBytes(tag(0x0040, 0x0260), [child], false));
  const undefinedLen = file(seqBytes(tag(0x0040, 0x0260), [concat(enc({ tag: tag(0x0008, 0x0000), vr: 'UL', value: new Uint8Array(4) }), child, enc(ob(tag(0xfffc, 0xfffc), new Uint8Array(2))))], true));
  const a = readPart10(defined), b = readPart10(undefinedLen);
  assert.deepEqual(a.anomalies, []);
  assert.deepEqual(b.anomalies, []);
  const stream = (ds: typeof a.dataSet) => {
    const chunks: Uint8Array[] = [];
    writeMacStream(ds, ds.map((e) => e.tag), [], (c) => chunks.push(Uint8Array.from(c)));
    return Buffer.concat(chunks).toString('hex');
  };
  assert.equal(stream(b.dataSet), stream(a.dataSet));
});

test('a declared length past the end, a truncated header and an unknown VR are refused with the reason', () => {
  const big = Buffer.from(enc(ob(tag(0x7fe0, 0x0010), new Uint8Array(4))));
  big.writeUInt32LE(0x7ffffff0, 8);
  assert.throws(() => readPart10(file(big)), (e: Error) => e instanceof DicomFormatError && /declares 2147483632 bytes but only 4 remain/.test(e.message));
  const good = file(enc(str(tag(0x0010, 0x0010), 'PN', 'Doe')));
  assert.throws(() => readPart10(good.subarray(0, good.length - 3)), DicomFormatError);
  const badVr = Buffer.from(enc(str(tag(0x0010, 0x0010), 'PN', 'Doe')));
  badVr.write('ZZ', 4, 'latin1');
  assert.throws(() => readPart10(file(badVr)), /no valid VR/);
  assert.throws(() => readPart10(new Uint8Array(10)), /not a DICOM Part 10 file/);
});

test('preamble content and a meta header that disagrees with the data set are named', () => {
  const f = Buffer.from(encodePart10(meta, base));
  f.write('MZ\x90\x00', 0, 'latin1');
  assert.ok(readPart10(f).anomalies.some((a) => /preamble.*PE "MZ"/.test(a)));
  f.fill(0, 0, 128);
  f.write('<html><script>', 0, 'latin1');
  assert.ok(readPart10(f).anomalies.some((a) => /preamble.*markup/.test(a)));
  const other = encodePart10({ ...meta, sopInstanceUid: '1.2.3.5' }, base);
  assert.ok(readPart10(other).anomalies.some((a) => /Media Storage SOP Instance UID \(0002,0003\) "1\.2\.3\.5" disagrees with the data set's "1\.2\.3\.4"/.test(a)));
  assert.equal(readPart10Meta(other).mediaStorageSopInstanceUid, '1.2.3.5');
});

test('a deflate bomb is refused by ratio; a real deflated object inflates; nesting is bounded', () => {
  const body = concat(enc(...base), enc(ob(tag(0x7fe0, 0x0010), new Uint8Array(64 << 20))));
  const deflated = deflateRawSync(body);
  const bomb = wrapPart10({ ...meta, transferSyntaxUid: '1.2.840.10008.1.2.1.99' }, deflated);
  const t0 = Date.now();
  assert.throws(() => readPart10(bomb), /decompression bomb/);
  assert.ok(Date.now() - t0 < 5000);
  const small = wrapPart10({ ...meta, transferSyntaxUid: '1.2.840.10008.1.2.1.99' }, deflateRawSync(concat(enc(...base), enc(us(tag(0x0028, 0x0010), 4)))));
  assert.equal(findElement(readPart10(small).dataSet, tag(0x0028, 0x0010))!.value!.length, 2);
  let nested: Element = str(tag(0x0008, 0x0100), 'SH', 'X');
  for (let i = 0; i < 20; i++) nested = sq(tag(0x0040, 0x0260), [[nested]]);
  assert.throws(() => readPart10(file(enc(nested))), /nested deeper than 16/);
});

/** A sequence with defined or undefined lengths (items likewise). */
function seqBytes(t: number, items: Uint8Array[], undefinedLengths: boolean): Uint8Array {
  const header = (g: number, e: number, len: number) => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(g, 0); b.writeUInt16LE(e, 2); b.writeUInt32LE(len >>> 0, 4);
    return b;
  };
  const itemParts = items.map((i) => undefinedLengths
    ? concat(header(0xfffe, 0xe000, 0xffffffff), i, header(0xfffe, 0xe00d, 0))
    : concat(header(0xfffe, 0xe000, i.length), i));
  const body = concat(...itemParts, ...(undefinedLengths ? [header(0xfffe, 0xe0dd, 0)] : []));
  const h = Buffer.alloc(12);
  h.writeUInt16LE(t >>> 16, 0); h.writeUInt16LE(t & 0xffff, 2); h.write('SQ', 4, 'latin1');
  h.writeUInt32LE(undefinedLengths ? 0xffffffff : body.length, 8);
  return concat(h, body);
}
