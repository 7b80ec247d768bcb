// The work behind `radseal watermark` (watermark.ts holds the options): loaded when a
// watermark command runs, so the image codecs and the watermark core stay out of start-up.
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeGrayPng, encodeGrayPng, type GrayImage } from '../image/png.js';
import { decodeGrayJpeg, hasJpegSignature } from '../image/jpeg.js';
import { hasDicomSignature, readDicomGray } from '../image/dicom.js';
import { DEFAULT_SEARCH_BUDGET_MS, detectWatermark, embedWatermark } from '../watermark/index.js';
import { generateWatermarkKey, loadWatermarkKey } from '../keys/watermark-key.js';

class UsageError extends Error {}

function fail(err: unknown): never {
  process.stderr.write(`radseal watermark: ${(err as Error).message}\n`);
  process.exit(2);
}

function readImage(path: string, o: RawOpts): GrayImage {
  const bytes = new Uint8Array(readFileSync(path));
  const bits = o.bitsStored !== undefined ? Number(o.bitsStored) : undefined;
  if (bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50) return decodeGrayPng(bytes, bits);
  if (hasJpegSignature(bytes)) return decodeGrayJpeg(bytes);
  if (hasDicomSignature(bytes)) {
    const img = readDicomGray(bytes);
    return bits !== undefined ? { ...img, bitsStored: bits } : img;
  }
  if (o.rows === undefined || o.cols === undefined) throw new UsageError(`${path}: not PNG, JPEG or DICOM; raw uint16 input needs --rows and --cols (and --bits-stored)`);
  const rows = Number(o.rows), cols = Number(o.cols);
  if (!(rows > 0 && cols > 0) || bytes.length !== rows * cols * 2) throw new UsageError(`${path}: ${bytes.length} bytes is not ${rows} x ${cols} uint16`);
  const pixels = new Uint16Array(rows * cols);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < pixels.length; i++) pixels[i] = dv.getUint16(2 * i, true);
  return { rows, cols, bitsStored: bits ?? 16, pixels };
}

function writeImage(path: string, img: GrayImage, raw: boolean): void {
  if (raw) {
    const buf = Buffer.alloc(img.pixels.length * 2);
    for (let i = 0; i < img.pixels.length; i++) buf.writeUInt16LE(img.pixels[i]!, 2 * i);
    writeFileSync(path, buf);
  } else writeFileSync(path, encodeGrayPng(img));
}

export interface RawOpts { rows?: string; cols?: string; bitsStored?: string }
export type EmbedOptions = RawOpts & { key: string; payload: string; in: string; out: string; psnr?: string };
export type DetectOptions = RawOpts & { key: string; in: string; json?: boolean; sync: boolean; rotation: boolean; searchBudget?: string; expectedPayload?: string };

export function keygen(o: { out: string }): void {
  try {
    generateWatermarkKey(o.out);
  } catch (err) { fail(err); }
}

export function embed(o: EmbedOptions): void {
  try {
    if (!/^([0-9a-fA-F]{2}){1,8}$/.test(o.payload)) throw new UsageError('--payload must be 1 to 8 bytes of hex');
    const key = loadWatermarkKey(o.key);
    const img = readImage(o.in, o);
    const r = embedWatermark(img, key, Buffer.from(o.payload, 'hex'), o.psnr === undefined ? {} : { psnrDb: Number(o.psnr) });
    if (/\.dcm$/i.test(o.out)) throw new UsageError('--out: writing DICOM is the seal\'s job (`radseal seal`); give a .png or .raw output');
    const raw = (o.rows !== undefined && !/\.png$/i.test(o.out)) || /\.raw$/i.test(o.out);
    writeImage(o.out, r.image, raw);
    process.stdout.write(`embedded: ${img.rows} x ${img.cols}, ${img.bitsStored} bits stored, PSNR ${r.psnrDb.toFixed(2)} dB, max change ${r.maxAbsChange} LSB, ${(100 * r.markedFraction).toFixed(1)}% of chips marked, content tag ${r.contentTagHex}${r.fragile ? `, fragile layer on ${r.fragile.carriers} carriers` : ''}${raw ? ' (raw uint16 LE)' : ''}\n`);
    // A mark that cannot be read back is said at once, not found out at detection.
    process.stdout.write(r.robust.readable ? `robust mark reads back: payload exact, pilot z ${r.robust.score.toFixed(1)}\n`
      : `no room for the robust mark: ${r.robust.problem}; \`watermark detect\` will not read the payload from this frame alone (the fragile layer checks it against --expected-payload)\n`);
  } catch (err) { fail(err); }
}

export function detect(o: DetectOptions): void {
  let d;
  let budget = DEFAULT_SEARCH_BUDGET_MS;
  try {
    const key = loadWatermarkKey(o.key);
    if (o.expectedPayload !== undefined && !/^([0-9a-fA-F]{2}){1,8}$/.test(o.expectedPayload)) throw new UsageError('--expected-payload must be 1 to 8 bytes of hex');
    budget = o.searchBudget === undefined ? DEFAULT_SEARCH_BUDGET_MS : Number(o.searchBudget);
    if (!(budget >= 0)) throw new UsageError('--search-budget must be a number of milliseconds (>= 0)');
    d = detectWatermark(readImage(o.in, o), key, { sync: o.sync, rotation: o.rotation, timeBudgetMs: budget, ...(o.expectedPayload ? { expectedPayload: Buffer.from(o.expectedPayload, 'hex') } : {}) });
  } catch (err) { fail(err); }
  if (o.json) {
    const { blocks, ...rest } = d;
    const out = { present: d.present, score: d.score, falsePositiveProbability: d.falsePositiveProbability, payloadHex: d.payloadHex, bitErrors: d.bitErrors,
      blocks: { size: blocks.size, rows: blocks.rows, cols: blocks.cols, tampered: blocks.tampered },
      inverted: rest.inverted, geometry: rest.geometry, contentTag: rest.contentTag, threshold: rest.threshold,
      mapSource: rest.mapSource, fragile: rest.fragile, payloadSource: rest.payloadSource, search: rest.search };
    process.stdout.write(JSON.stringify(out) + '\n');
  } else {
    process.stdout.write(d.present
      ? `watermark present: z ${d.score.toFixed(2)} (P(false) <= ${d.falsePositiveProbability.toExponential(2)}), payload ${d.payloadHex ?? 'unreadable'}, ${d.bitErrors ?? '-'} coded-bit errors, content tag ${d.contentTag ? contentTagWords(d.contentTag) : '-'}${d.geometry.rotationDeg ? `, found turned back by ${-d.geometry.rotationDeg}°` : ''}, found by the ${d.search.foundBy} search, ${d.blocks.tampered.length} of ${d.blocks.rows * d.blocks.cols} blocks tampered (${d.mapSource} map)\n`
      : `watermark absent: z ${d.score.toFixed(2)} below ${d.threshold.toFixed(2)} (searched: ${d.search.stages.map((x) => `${x.stage} ${Math.round(x.ms)} ms`).join(', ')}${d.search.budgetExhausted ? `; search budget of ${budget} ms ran out` : ''})\n`);
  }
  process.exit(d.present ? 0 : 1);
}

/** The content tag's judgement in words: a match, undecided (too few reliable bits to prove one), or a mismatch. */
function contentTagWords(t: { match: boolean | null; distance: number; reliableBits: number; maxDistance: number }): string {
  if (t.match === true) return `matches (${t.distance} of ${t.reliableBits} reliable bits differ, ${t.maxDistance} allowed)`;
  if (t.match === null) return `undecided (${t.reliableBits} of 32 bits reliable, too few to prove a match; none differ)`;
  return `MISMATCH (${t.distance} of ${t.reliableBits} reliable bits differ, ${Math.max(0, t.maxDistance)} allowed)`;
}
