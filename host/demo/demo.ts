// `radseal demo`: the whole flow on built-in data with nothing to configure.
// Keys are made once and reused; frames come from the shared radiographs when
// they sit beside the project, from generated phantoms otherwise.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve, basename } from 'node:path';
import { projectRoot } from '../core/wasm.js';
import { Core } from '../core/wasm.js';
import { CoreSha256 } from '../core/hash.js';
import { generateDeviceKey } from '../keys/provision.js';
import { parseCertificates } from '../keys/certs.js';
import { loadDeviceIdentity } from '../seal/device.js';
import { sealFrame } from '../seal/seal.js';
import { pixelBytes } from '../dicom/dx.js';
import { readGrayImage, type GrayImage } from '../image/png.js';
import { makePhantom } from '../image/phantom.js';
import { writeFileAtomic } from '../io/atomic.js';
import { verifyBytes, type VerifyReport } from '../ingest/verify.js';
import { readPart10 } from '../dicom/reader.js';
import { findElement, tag } from '../dicom/model.js';

export interface DemoFrame {
  name: string;
  image: GrayImage;
}

/** The radiographs shipped beside the checkout, when present. */
export function sharedRadiographsDir(): string {
  return resolve(projectRoot(), '..', 'shared', 'data', 'radiographs');
}

function demoFrames(log: (s: string) => void): DemoFrame[] {
  const dir = sharedRadiographsDir();
  if (existsSync(dir)) {
    const pngs = readdirSync(dir).filter((f) => f.endsWith('.png')).sort();
    if (pngs.length) {
      log(`frames: ${pngs.length} real radiographs from ${dir}`);
      return pngs.map((f) => ({ name: basename(f, '.png'), image: readGrayImage(join(dir, f)) }));
    }
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
  for (const d of [dir, outbox, tamperedDir]) mkdirSync(d, { recursive: true });

  if (!existsSync(join(keysDir, 'device.key'))) {
    await generateDeviceKey('RADSEAL-DEMO-DX1', keysDir);
    log(`keys: made a device key and self-signed certificate in ${keysDir}`);
  } else {
    log(`keys: using ${keysDir}`);
  }
  const device = loadDeviceIdentity(join(keysDir, 'device.key'), join(keysDir, 'device.crt'), 'sim-pty');
  const trust = parseCertificates(readFileSync(join(keysDir, 'device.crt')));

  const core = new Core();
  const hasher = new CoreSha256(core);
  const reports: VerifyReport[] = [];
  const sealedPaths: string[] = [];
  let serial = 0;
  for (const { name, image } of demoFrames(log)) {
    serial++;
    // The raw frame is hashed in the core as it arrives, before anything else touches it.
    const rawFrameSha256 = hasher.reset().update(pixelBytes(image.pixels)).digest();
    const sealed = await sealFrame({ frame: image, rawFrameSha256, frameSerial: serial, meta: { patientName: 'PHANTOM^DEMO', patientId: 'RS-DEMO-0001', studyDescription: 'radseal demo' } }, device);
    const path = join(outbox, `${name}-${sealed.sopInstanceUid.slice(-12)}.dcm`);
    writeFileAtomic(path, sealed.bytes, { noClobber: true });
    sealedPaths.push(path);
    log(`sealed: ${name} (${image.rows}x${image.cols}, ${image.bitsStored} bits) → ${path}`);
  }

  for (const path of sealedPaths) reports.push(verifyBytes(path, readFileSync(path), trust));

  // An attacker's edit: one pixel's lowest bit flipped in a copy of the first object.
  const original = readFileSync(sealedPaths[0]!);
  const tampered = new Uint8Array(original);
  const at = findPixelDataOffset(tampered) + 2 * 1000;
  tampered[at] = tampered[at]! ^ 1;
  const tamperedPath = join(tamperedDir, basename(sealedPaths[0]!).replace('.dcm', '-one-bit-flipped.dcm'));
  writeFileSync(tamperedPath, tampered);
  reports.push(verifyBytes(tamperedPath, tampered, trust));

  log('');
  log('verification (trust: the demo device certificate):');
  for (const r of reports) log(`  ${r.verdict.toUpperCase().padEnd(10)} ${r.file}${r.verdict === 'authentic' ? '' : '\n             ' + r.reasons.join('\n             ')}`);
  const ok = reports.slice(0, -1).every((r) => r.verdict === 'authentic') && reports.at(-1)!.verdict === 'tampered';
  log('');
  log(`outbox: ${outbox}`);
  log(ok ? 'demo: every sealed object verified authentic and the tampered copy was caught' : 'demo: UNEXPECTED RESULT (see above)');
  return { ok, reports };
}

/** Byte offset of the Pixel Data value in a Part 10 file (values read are views into the file). */
function findPixelDataOffset(bytes: Uint8Array): number {
  const pixels = findElement(readPart10(bytes).dataSet, tag(0x7fe0, 0x0010))?.value;
  if (!pixels) throw new Error('no Pixel Data in the demo object');
  return pixels.byteOffset - bytes.byteOffset;
}
