// Display-relevant elements an attacker would add to change what a viewer
// shows or whom the image belongs to, encoded ready to insert.
import { concat, encodeElement, encodeSequence, stringValue, u16Value } from './byte-edits.js';
import type { Rng } from './prng.js';

export interface KnownElement {
  name: string;
  /** Tag of the first element written (where the insertion goes in tag order). */
  tag: number;
  encode(rng: Rng): Uint8Array;
}

const str = (tag: number, vr: string, s: string) => encodeElement(tag, vr, stringValue(s, vr));
const us = (tag: number, ...v: number[]) => encodeElement(tag, 'US', u16Value(...v));
const evenBytes = (rng: Rng, max: number) => rng.bytes(rng.range(1, max / 2) * 2);

function lutItem(rng: Rng, extra: Uint8Array[]): Uint8Array {
  const entries = rng.range(2, 64);
  return concat(us(0x00283002, entries, 0, 16), ...extra, encodeElement(0x00283006, 'OW', rng.bytes(entries * 2)));
}

export const KNOWN_ELEMENTS: KnownElement[] = [
  { name: 'Pixel Data', tag: 0x7fe00010, encode: (rng) => encodeElement(0x7fe00010, 'OW', evenBytes(rng, 512)) },
  { name: 'Patient ID', tag: 0x00100020, encode: (rng) => str(0x00100020, 'LO', rng.pick(['EVIL-0666', 'PID-0002', ''])) },
  { name: "Patient's Name", tag: 0x00100010, encode: () => str(0x00100010, 'PN', 'Mallory^Eve') },
  { name: 'Rows', tag: 0x00280010, encode: (rng) => us(0x00280010, rng.pick([0, 1, 16, 64, 4096, 65535])) },
  { name: 'Columns', tag: 0x00280011, encode: (rng) => us(0x00280011, rng.pick([0, 1, 16, 64, 4096, 65535])) },
  { name: 'Window Center', tag: 0x00281050, encode: (rng) => str(0x00281050, 'DS', rng.pick(['40', '-1000', '1e9', '4095'])) },
  { name: 'Window Width', tag: 0x00281051, encode: (rng) => str(0x00281051, 'DS', rng.pick(['1', '0', '400'])) },
  { name: 'Rescale Slope', tag: 0x00281053, encode: () => str(0x00281053, 'DS', '-1') },
  { name: 'Rescale Intercept', tag: 0x00281052, encode: () => str(0x00281052, 'DS', '1024') },
  { name: 'Photometric Interpretation', tag: 0x00280004, encode: () => str(0x00280004, 'CS', 'MONOCHROME1') },
  { name: 'Presentation LUT Shape', tag: 0x20500020, encode: () => str(0x20500020, 'CS', 'INVERSE') },
  { name: 'Pixel Padding Value', tag: 0x00280120, encode: (rng) => us(0x00280120, rng.int(65536)) },
  { name: 'Burned In Annotation', tag: 0x00280301, encode: () => str(0x00280301, 'CS', 'YES') },
  { name: 'Image Laterality', tag: 0x00200062, encode: () => str(0x00200062, 'CS', 'R') },
  {
    name: 'Overlay 6000', tag: 0x60000010, encode: (rng) => {
      const rows = rng.range(1, 64), cols = rng.range(1, 64);
      return concat(us(0x60000010, rows), us(0x60000011, cols), str(0x60000040, 'CS', 'G'),
        encodeElement(0x60000050, 'SS', u16Value(1, 1)), us(0x60000100, 1), us(0x60000102, 0),
        encodeElement(0x60003000, 'OW', rng.bytes(Math.ceil((rows * cols) / 16) * 2)));
    },
  },
  { name: 'Overlay Data', tag: 0x60003000, encode: (rng) => encodeElement(0x60003000, 'OW', evenBytes(rng, 256)) },
  { name: 'Modality LUT Sequence', tag: 0x00283000, encode: (rng) => encodeSequence(0x00283000, [lutItem(rng, [str(0x00283004, 'LO', 'US')])]) },
  { name: 'VOI LUT Sequence', tag: 0x00283010, encode: (rng) => encodeSequence(0x00283010, [lutItem(rng, [])]) },
  {
    name: 'Icon Image Sequence', tag: 0x00880200, encode: (rng) => encodeSequence(0x00880200, [concat(
      us(0x00280010, 4), us(0x00280011, 4), us(0x00280100, 8), encodeElement(0x7fe00010, 'OB', rng.bytes(16)))]),
  },
];
