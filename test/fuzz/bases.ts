// The sealed objects the DICOM fuzzer mutates: small phantom frames of a few
// geometries, sealed with fresh keys through the real seal path, with and
// without technologist co-signature (its Operator Identification Sequence
// nests two levels deep) and site watermark, plus the trust bundle.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { makePhantom } from '../../host/image/phantom.js';
import { makeIdentities, sealTo } from '../host/dicom/fixtures.js';

export interface BaseObject {
  name: string;
  bytes: Uint8Array;
  /** The site watermark key this object must be verified with, if any. */
  watermarkKey?: Uint8Array;
  /** How often the fuzzer picks it relative to the others. */
  weight: number;
}

export interface FuzzCorpus {
  bases: BaseObject[];
  /** PEM text of every signer certificate (device Ed25519, device ECDSA, technologist). */
  trustPem: string;
}

interface BaseSpec {
  name: string;
  rows: number;
  cols: number;
  bitsStored: number;
  technologist?: boolean;
  ecdsa?: boolean;
  watermark?: boolean;
  tileSize?: number;
}

const SPECS: BaseSpec[] = [
  { name: 'dx-64x64', rows: 64, cols: 64, bitsStored: 12 },
  { name: 'dx-48x80-tech-nested', rows: 48, cols: 80, bitsStored: 14, technologist: true },
  { name: 'dx-33x17-ecdsa-notiles', rows: 33, cols: 17, bitsStored: 16, ecdsa: true, tileSize: 0 },
  { name: 'dx-128x96-tech-watermark', rows: 128, cols: 96, bitsStored: 12, technologist: true, watermark: true },
];

/** Seals the base objects with fresh keys in a temporary folder (removed afterwards). */
export async function makeCorpus(): Promise<FuzzCorpus> {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-fuzz-'));
  try {
    const ids = await makeIdentities(dir, 'DX-FUZZ-1', 'tech-fuzz');
    const watermarkKey = new Uint8Array(randomBytes(32));
    const bases: BaseObject[] = [];
    for (const [i, s] of SPECS.entries()) {
      const frame = makePhantom({ rows: s.rows, cols: s.cols, bitsStored: s.bitsStored, seed: 11 + i });
      const device = s.ecdsa ? ids.deviceWithEcdsa : ids.device;
      const bytes = await sealTo(join(dir, `${s.name}.dcm`), frame, device, {
        ...(s.technologist ? { technologist: ids.technologist } : {}),
        ...(s.watermark ? { watermark: { key: watermarkKey } } : {}),
        ...(s.tileSize !== undefined ? { tileSize: s.tileSize } : {}),
      });
      // Watermark detection makes verify ~4x slower: that base is picked less often.
      bases.push({ name: s.name, bytes, weight: s.watermark ? 0.3 : 1, ...(s.watermark ? { watermarkKey } : {}) });
    }
    return { bases, trustPem: readFileSync(ids.trustPem, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Keeps a corpus beside a run's findings (bases/*.dcm, their watermark keys, trust.pem), so that
 * `--corpus DIR --seed S --start I --count 1` regenerates input I byte for byte later.
 */
export function saveCorpus(corpus: FuzzCorpus, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'trust.pem'), corpus.trustPem);
  writeFileSync(join(dir, 'corpus.json'), JSON.stringify(corpus.bases.map((b) => ({
    name: b.name, weight: b.weight, ...(b.watermarkKey ? { watermarkKeyHex: Buffer.from(b.watermarkKey).toString('hex') } : {}),
  })), null, 1));
  for (const b of corpus.bases) writeFileSync(join(dir, `${b.name}.dcm`), b.bytes);
}

export function loadCorpus(dir: string): FuzzCorpus {
  const list = JSON.parse(readFileSync(join(dir, 'corpus.json'), 'utf8')) as Array<{ name: string; weight: number; watermarkKeyHex?: string }>;
  return {
    trustPem: readFileSync(join(dir, 'trust.pem'), 'utf8'),
    bases: list.map((b) => ({
      name: b.name, weight: b.weight, bytes: new Uint8Array(readFileSync(join(dir, `${b.name}.dcm`))),
      ...(b.watermarkKeyHex ? { watermarkKey: new Uint8Array(Buffer.from(b.watermarkKeyHex, 'hex')) } : {}),
    })),
  };
}
