// The digest made while P-DATA fragments arrive equals the one made after: the data set SHA-256,
// the Pixel Data value's offset, length and SHA-256, and the per-frame tile table, for explicit and
// implicit VR, sequences of defined and undefined length (nested), multi-frame, whatever the
// fragment sizes. What the walker does not expect (encapsulated, a stray delimiter, cut short)
// gives no pixel digest, never a wrong one; what follows the pixels is not its business.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DataSetDigester } from '../../../host/proxy/stream-digest.js';
import { tileHashes } from '../../../host/core/tiles.js';
import { UID } from '../../../host/dicom/uids.js';

const le16 = (n: number) => Buffer.from([n & 0xff, n >> 8]);
const le32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; };
const tagBytes = (g: number, e: number) => Buffer.concat([le16(g), le16(e)]);
const LONG = new Set(['OB', 'OW', 'SQ', 'UN', 'UT']);
const UNDEF = 0xffffffff;

function el(explicit: boolean, g: number, e: number, vr: string, value: Buffer, length = value.length): Buffer {
  if (!explicit) return Buffer.concat([tagBytes(g, e), le32(length), value]);
  if (LONG.has(vr)) return Buffer.concat([tagBytes(g, e), Buffer.from(vr, 'latin1'), Buffer.alloc(2), le32(length), value]);
  return Buffer.concat([tagBytes(g, e), Buffer.from(vr, 'latin1'), le16(length), value]);
}
const item = (content: Buffer, undefinedLength: boolean) => undefinedLength
  ? Buffer.concat([tagBytes(0xfffe, 0xe000), le32(UNDEF), content, tagBytes(0xfffe, 0xe00d), le32(0)])
  : Buffer.concat([tagBytes(0xfffe, 0xe000), le32(content.length), content]);
const seqEnd = Buffer.concat([tagBytes(0xfffe, 0xe0dd), le32(0)]);

function pixelsOf(rows: number, cols: number, frames: number, seed: number): Buffer {
  const px = Buffer.alloc(rows * cols * frames * 2);
  let x = seed;
  for (let i = 0; i < px.length; i += 2) {
    x = (x * 1103515245 + 12345) >>> 0;
    px.writeUInt16LE((x >>> 16) & 0x3fff, i);
  }
  return px;
}

/** A data set with sequences before the pixels; returns it and where its Pixel Data value lies. */
function dataSet(explicit: boolean, rows: number, cols: number, frames: number, undefinedSequences: boolean, seed = 1) {
  const inner = Buffer.concat([el(explicit, 0x0008, 0x0100, 'SH', Buffer.from('CODE01')), el(explicit, 0x0008, 0x0102, 'SH', Buffer.from('99XX'))]);
  const nested = undefinedSequences
    ? Buffer.concat([el(explicit, 0x0040, 0xa043, 'SQ', Buffer.concat([item(inner, true), seqEnd]), UNDEF)])
    : el(explicit, 0x0040, 0xa043, 'SQ', item(inner, false));
  const outerItem = Buffer.concat([el(explicit, 0x0008, 0x0080, 'LO', Buffer.from('Site')), nested]);
  const sequence = undefinedSequences
    ? el(explicit, 0x0008, 0x1072, 'SQ', Buffer.concat([item(outerItem, true), item(outerItem, false), seqEnd]), UNDEF)
    : el(explicit, 0x0008, 0x1072, 'SQ', Buffer.concat([item(outerItem, false), item(Buffer.alloc(0), false)]));
  const pixels = pixelsOf(rows, cols, frames, seed);
  const head = Buffer.concat([
    el(explicit, 0x0008, 0x0018, 'UI', Buffer.from('1.2.3.4\0')),
    sequence,
    el(explicit, 0x0010, 0x0010, 'PN', Buffer.from('Doe^Jo')),
    el(explicit, 0x0028, 0x0002, 'US', le16(1)),
    ...(frames > 1 ? [el(explicit, 0x0028, 0x0008, 'IS', Buffer.from(`${frames} `))] : []),
    el(explicit, 0x0028, 0x0010, 'US', le16(rows)),
    el(explicit, 0x0028, 0x0011, 'US', le16(cols)),
    el(explicit, 0x0028, 0x0100, 'US', le16(16)),
    el(explicit, 0x0028, 0x0101, 'US', le16(14)),
  ]);
  const pixelHeader = el(explicit, 0x7fe0, 0x0010, 'OW', Buffer.alloc(0), pixels.length);
  return { bytes: Buffer.concat([head, pixelHeader, pixels]), offset: head.length + pixelHeader.length, pixels };
}

function digestInPieces(bytes: Buffer, ts: string, sizes: () => number, tileSize = 16) {
  const d = new DataSetDigester(ts, tileSize);
  for (let i = 0; i < bytes.length; ) {
    const n = Math.max(1, Math.min(sizes(), bytes.length - i));
    d.update(bytes.subarray(i, i + n));
    i += n;
  }
  return d.finish();
}

/** The journal key of a data set whose native pixel value lies at offset..offset+length: `p:` + SHA-256 with the value replaced by its SHA-256. */
function pixelKey(bytes: Buffer, offset: number, length: number): string {
  const value = createHash('sha256').update(bytes.subarray(offset, offset + length)).digest();
  return `p:${createHash('sha256').update(bytes.subarray(0, offset)).update(value).update(bytes.subarray(offset + length)).digest('hex')}`;
}

function expectedTiles(pixels: Buffer, rows: number, cols: number, frames: number, size: number): Buffer {
  const fb = rows * cols * 2;
  return Buffer.concat(Array.from({ length: frames }, (_, f) => tileHashes(pixels.subarray(f * fb, (f + 1) * fb), rows, cols, size)));
}

test('streamed digest = digest after the fact: explicit/implicit, sequences of both lengths, multi-frame, any fragmenting', async () => {
  let rnd = 7;
  const random = (max: number) => () => ((rnd = (rnd * 48271) % 2147483647), 1 + (rnd % max));
  for (const explicit of [true, false]) {
    for (const undefinedSequences of [false, true]) {
      for (const [rows, cols, frames] of [[40, 52, 1], [33, 17, 3]] as const) {
        const ds = dataSet(explicit, rows, cols, frames, undefinedSequences);
        for (const sizes of [() => 1, random(13), random(4096), () => ds.bytes.length]) {
          const got = await digestInPieces(ds.bytes, explicit ? UID.explicitVrLittleEndian : UID.implicitVrLittleEndian, sizes);
          const what = `${explicit ? 'explicit' : 'implicit'} ${undefinedSequences ? 'undefined' : 'defined'} ${rows}x${cols}x${frames}`;
          assert.equal(got.journalKey, pixelKey(ds.bytes, ds.offset, ds.pixels.length), what);
          assert.ok(got.pixels, what);
          assert.equal(got.pixels.offset, ds.offset, what);
          assert.equal(got.pixels.length, ds.pixels.length, what);
          assert.deepEqual(Buffer.from(got.pixels.sha256), createHash('sha256').update(ds.pixels).digest(), what);
          assert.deepEqual({ ...got.pixels.tiles, hashes: undefined }, { size: 16, rows, cols, frames, hashes: undefined }, what);
          assert.deepEqual(Buffer.from(got.pixels.tiles!.hashes), expectedTiles(ds.pixels, rows, cols, frames, 16), what);
        }
      }
    }
  }
});

test('frames larger than one post to the tile thread: several bands per frame, the last one short, same table', async () => {
  // 1700 columns at 16-pixel tiles: 304 rows (a megabyte) per band, so each 330-row frame is a band of 304 rows and one of 26.
  let rnd = 11;
  const random = () => ((rnd = (rnd * 48271) % 2147483647), 1 + (rnd % 65536));
  const ds = dataSet(true, 330, 1700, 2, false);
  const got = await digestInPieces(ds.bytes, UID.explicitVrLittleEndian, random);
  assert.ok(got.pixels?.tiles);
  assert.deepEqual(Buffer.from(got.pixels.tiles.hashes), expectedTiles(ds.pixels, 330, 1700, 2, 16));
});

test('no pixel digest (the seal computes its own) for what the walker does not expect; the journal key whenever the bytes name it', async () => {
  const ds = dataSet(true, 20, 20, 1, true);
  const whole = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  // Elements after Pixel Data (a modality's block in 7FE1, trailing padding): the pixels' digest stands, the rest is the seal's to read.
  const padded = Buffer.concat([ds.bytes, el(true, 0x7fe1, 0x0010, 'LO', Buffer.from('VENDOR')), el(true, 0xfffc, 0xfffc, 'OB', Buffer.alloc(4))]);
  let got = await digestInPieces(padded, UID.explicitVrLittleEndian, () => 100);
  assert.equal(got.pixels?.offset, ds.offset);
  assert.deepEqual(Buffer.from(got.pixels!.sha256), createHash('sha256').update(ds.pixels).digest());
  assert.equal(got.journalKey, pixelKey(padded, ds.offset, ds.pixels.length), 'the pixels were whole: their hash stands in for them');
  // Cut short inside the pixels: no key (part of the pixels was left out of it and no hash stands in), the caller hashes.
  got = await digestInPieces(ds.bytes.subarray(0, ds.bytes.length - 10), UID.explicitVrLittleEndian, () => 100);
  assert.equal(got.pixels, undefined);
  assert.equal(got.journalKey, undefined);
  // Keys of data sets that differ only in their pixels differ, however they are cut.
  const other = Buffer.from(ds.bytes);
  other[ds.offset + 5]! ^= 1;
  const keys = new Set(await Promise.all([ds.bytes, other].flatMap((b) => [() => 3, () => 1000].map(async (n) => (await digestInPieces(b, UID.explicitVrLittleEndian, n)).journalKey))));
  assert.equal(keys.size, 2);
  // A stray sequence delimiter at the top level.
  const stray = Buffer.concat([seqEnd, ds.bytes]);
  assert.equal((await digestInPieces(stray, UID.explicitVrLittleEndian, () => 100)).pixels, undefined);
  // Encapsulated pixel data.
  const frag = Buffer.alloc(64, 1);
  const enc = Buffer.concat([el(true, 0x0028, 0x0010, 'US', le16(8)), el(true, 0x7fe0, 0x0010, 'OB', Buffer.concat([item(Buffer.alloc(0), false), item(frag, false), seqEnd]), UNDEF)]);
  got = await digestInPieces(enc, '1.2.840.10008.1.2.4.70', () => 7);
  assert.equal(got.pixels, undefined);
  assert.equal(got.journalKey, whole(enc));
  // Nesting deeper than any real data set: the walker stops instead of growing without bound.
  const nest = (depth: number) => {
    let inner = el(true, 0x0008, 0x0104, 'LO', Buffer.from('deep'));
    for (let i = 0; i < depth; i++) inner = el(true, 0x0040, 0xa730, 'SQ', Buffer.concat([item(inner, true), seqEnd]), UNDEF);
    return inner;
  };
  const walkedDeep = async (depth: number) => {
    const d = new DataSetDigester(UID.explicitVrLittleEndian, 16);
    // A nest as the first top-level element (its tag sorts first), then the data set.
    const head = nest(depth);
    head.writeUInt16LE(0x0008, 0);
    head.writeUInt16LE(0x0001, 2);
    d.update(Buffer.concat([head, ds.bytes]));
    return (await d.finish()).pixels;
  };
  // Each nest is a sequence and an item: 30 nests are 60 open levels, 40 are 80.
  assert.ok(await walkedDeep(30), '60 open levels are walked');
  assert.equal(await walkedDeep(40), undefined, '80 are not');
  // Big endian: not walked, hashed.
  got = await digestInPieces(ds.bytes, '1.2.840.10008.1.2.2', () => 100);
  assert.equal(got.pixels, undefined);
  assert.equal(got.journalKey, whole(ds.bytes));
  // 8-bit or colour pixels: a pixel hash, no tile table.
  const rgb = Buffer.from(ds.bytes);
  rgb.writeUInt16LE(3, ds.bytes.indexOf(Buffer.concat([tagBytes(0x0028, 0x0002), Buffer.from('US')])) + 8);
  got = await digestInPieces(rgb, UID.explicitVrLittleEndian, () => 100);
  assert.ok(got.pixels && !got.pixels.tiles);
});
