// `radseal demo`: the whole flow on built-in data with nothing to configure.
// Keys are made once and reused; frames come from the shared radiographs when
// they sit beside the project, from generated phantoms otherwise.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve, basename } from 'node:path';
import { projectRoot } from '../core/wasm.js';
import { generateDeviceKey } from '../keys/provision.js';
import { parseCertificates } from '../keys/certs.js';
import { loadDeviceIdentity } from '../seal/device.js';
import { captureOverLoopback } from './loopback-capture.js';
import { readGrayImage, type GrayImage } from '../image/png.js';
import { makePhantom } from '../image/phantom.js';
import { verifyObject, type VerifyReport } from '../ingest/verify.js';
import { generateWatermarkKey, loadWatermarkKey } from '../keys/watermark-key.js';
import { decodeUS } from '../dicom/values.js';
import { readPart10 } from '../dicom/reader.js';
import { findElement, tag } from '../dicom/model.js';
import { makeDirs } from '../io/dirs.js';

export interface DemoFrame {
  name: string;
  image: GrayImage;
}

/** The radiographs shipped beside the checkout, when present. */
export function sharedRadiographsDir(): string {
  return resolve(projectRoot(), '..', 'shared', 'data', 'radiographs');
}

/**
 * The full-depth stored-value radiographs and a generated 14-bit phantom. The
 * 8-bit NIH sample is left out: the capture watermark is for 10-16-bit frames.
 */
function demoFrames(log: (s: string) => void): DemoFrame[] {
  const phantom: DemoFrame = { name: 'phantom-14bit', image: makePhantom({ rows: 1024, cols: 1024, bitsStored: 14, seed: 1 }) };
  const dir = sharedRadiographsDir();
  const real = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('_stored_values_16bit.png')).sort() : [];
  if (real.length) {
    log(`frames: ${real.length} real radiographs from ${dir} and a generated 14-bit phantom`);
    return [...real.map((f) => ({ name: basename(f, '.png'), image: readGrayImage(join(dir, f)) })), phantom];
  }
  log('frames: 3 generated phantoms (1024x1024, 14-bit, Poisson noise)');
  return [1, 2, 3].map((seed) => ({ name: `phantom-${seed}`, image: makePhantom({ rows: 1024, cols: 1024, bitsStored: 14, seed }) }));
}

export interface DemoResult {
  ok: boolean;
  reports: VerifyReport[];
}

export async function runDemo(dirArg: string, log: (s: string) => void): Promise<DemoResult> {
  const dir = resolve(dirArg);
  const keysDir = join(dir, 'keys');
  const outbox = join(dir, 'outbox');
  const tamperedDir = join(dir, 'tampered');
  for (const d of [dir, outbox, tamperedDir]) makeDirs(d);

  if (!existsSync(join(keysDir, 'device.key'))) {
    await generateDeviceKey('RADSEAL-DEMO-DX1', keysDir);
    generateWatermarkKey(join(keysDir, 'site-watermark.key'));
    log(`keys: made a device key, its self-signed certificate and a site watermark key in ${keysDir}`);
  } else {
    log(`keys: using ${keysDir}`);
  }
  // The capture service records the board the frames come through (loopback-capture.ts).
  const device = loadDeviceIdentity(join(keysDir, 'device.key'), join(keysDir, 'device.crt'));
  const watermarkKey = loadWatermarkKey(join(keysDir, 'site-watermark.key'));
  const trust = parseCertificates(readFileSync(join(keysDir, 'device.crt')));

  const captured = await captureOverLoopback(demoFrames(log), device, outbox, watermarkKey, log);
  const sealedPaths = captured.map((c) => c.entry.path);
  const verify = (path: string, bytes: Uint8Array) => verifyObject(path, bytes, trust, { watermarkKey });
  const reports = sealedPaths.map((path) => verify(path, readFileSync(path)));

  // Two attacker's edits on copies of the first object: one pixel's lowest bit
  // flipped, and a 128x128 copy-move (a structure duplicated elsewhere).
  const original = new Uint8Array(readFileSync(sealedPaths[0]!));
  const stem = basename(sealedPaths[0]!, '.dcm');
  const edits: Array<[string, Uint8Array]> = [
    ['one-bit-flipped', flipOneBit(original)],
    ['copy-move-128', copyMove(original, 128)],
  ];
  for (const [what, bytes] of edits) {
    const path = join(tamperedDir, `${stem}-${what}.dcm`);
    writeFileSync(path, bytes);
    reports.push(verify(path, bytes));
  }

  log('');
  log('verification (trust: the demo device certificate; site watermark key):');
  for (const r of reports) {
    log(`  ${r.verdict.toUpperCase().padEnd(10)} ${r.file}`);
    if (r.watermark) log(`             watermark ${r.watermark.present ? `present, device ${r.watermark.decoded?.device ?? '?'}, frame ${r.watermark.decoded?.frameSerial ?? '?'}` : 'absent'}`);
    if (r.tamperedTiles) log(`             changed ${r.tamperedTiles.size}-px tiles (signed tile table${r.tamperedTiles.tableAuthenticated ? ', authenticated' : ''}): ${r.tamperedTiles.tiles.map(([y, x]) => `[${y},${x}]`).join(' ')}`);
    if (r.watermark?.blocks.tampered.length) log(`             watermark tamper map, ${r.watermark.blocks.size}-px blocks: ${r.watermark.blocks.tampered.map(([y, x]) => `[${y},${x}]`).join(' ')}`);
    if (r.verdict !== 'authentic') for (const reason of r.reasons.slice(0, 3)) log(`             - ${reason}`);
  }
  const sealedOk = reports.slice(0, sealedPaths.length).every((r) => r.verdict === 'authentic');
  const caught = reports.slice(sealedPaths.length).every((r) => r.verdict === 'tampered');
  const ok = sealedOk && caught;
  log('');
  log(`outbox: ${outbox}`);
  log(`tampered copies: ${tamperedDir}`);
  log(ok ? 'demo: every sealed object verified authentic and every tampered copy was caught' : 'demo: UNEXPECTED RESULT (see above)');
  return { ok, reports };
}

function flipOneBit(file: Uint8Array): Uint8Array {
  const out = new Uint8Array(file);
  const at = findPixelDataOffset(out) + 2 * 1000;
  out[at] = out[at]! ^ 1;
  return out;
}

/** Copies a size x size square from the upper left quarter to the centre, in place in the Pixel Data. */
function copyMove(file: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(file);
  const ds = readPart10(out).dataSet;
  const cols = decodeUS(findElement(ds, tag(0x0028, 0x0011))?.value) ?? 0;
  const rows = decodeUS(findElement(ds, tag(0x0028, 0x0010))?.value) ?? 0;
  const base = findPixelDataOffset(out);
  const [sy, sx, dy, dx] = [Math.floor(rows / 5), Math.floor(cols / 5), Math.floor(rows / 2), Math.floor(cols / 2)];
  for (let y = 0; y < size; y++) {
    const src = base + 2 * ((sy + y) * cols + sx);
    out.copyWithin(base + 2 * ((dy + y) * cols + dx), src, src + 2 * size);
  }
  return out;
}

/** Byte offset of the Pixel Data value in a Part 10 file (values read are views into the file). */
function findPixelDataOffset(bytes: Uint8Array): number {
  const pixels = findElement(readPart10(bytes).dataSet, tag(0x7fe0, 0x0010))?.value;
  if (!pixels) throw new Error('no Pixel Data in the demo object');
  return pixels.byteOffset - bytes.byteOffset;
}
