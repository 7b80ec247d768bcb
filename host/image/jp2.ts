// JPEG 2000 round trip through OpenJPEG's command-line tools (Debian
// libopenjp2-tools), used to test and benchmark robustness to lossy J2K.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GrayImage } from './png.js';
import { decodePgm, encodePgm } from './pnm.js';

export function haveOpenJpeg(): boolean {
  // opj_compress -h exits non-zero; only a failure to start means it is missing.
  const r = spawnSync('opj_compress', ['-h'], { stdio: 'ignore' });
  return r.error === undefined;
}

/** Compresses at `ratio`:1 (opj_compress -r) and decodes back; the bit depth is kept. */
export function jp2RoundTrip(img: GrayImage, ratio: number): GrayImage {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-j2k-'));
  try {
    const src = join(dir, 'in.pgm'), j2k = join(dir, 'c.j2k'), back = join(dir, 'out.pgm');
    writeFileSync(src, encodePgm(img));
    execFileSync('opj_compress', ['-i', src, '-o', j2k, '-r', String(ratio)], { stdio: 'ignore' });
    execFileSync('opj_decompress', ['-i', j2k, '-o', back], { stdio: 'ignore' });
    const out = decodePgm(readFileSync(back));
    return { ...out, bitsStored: img.bitsStored };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
