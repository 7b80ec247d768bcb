// Pixel Data against the capture attestation: the attestation's hash of the
// stored pixels, and, when they differ, the signed per-tile table names where.
import { createHash, timingSafeEqual } from 'node:crypto';
import { type DataSet, findElement, tag } from '../dicom/model.js';
import type { CaptureAttestation } from '../dicom/attestation.js';
import { decodeUS } from '../dicom/values.js';
import { changedTiles, tileGrid, tileHashes } from '../core/tiles.js';
import type { TamperedTiles } from './verify-report.js';

const PIXEL_DATA = tag(0x7fe0, 0x0010);

export interface PixelCheck {
  /** null when there are no native pixels to compare. */
  intact: boolean | null;
  tiles?: Omit<TamperedTiles, 'tableAuthenticated'>;
  reasons: string[];
}

export function checkPixels(ds: DataSet, attestation: CaptureAttestation): PixelCheck {
  const pixels = findElement(ds, PIXEL_DATA)?.value;
  if (!pixels) return { intact: null, reasons: [] };
  // node:crypto (OpenSSL, SHA-NI where the CPU has it) rather than the core: verification runs on
  // PACS servers, not on the capture device, and a second implementation checks the core's hash.
  const digest = new Uint8Array(createHash('sha256').update(pixels).digest());
  const expected = attestation.pixelDataSha256;
  if (expected.length === digest.length && timingSafeEqual(digest, expected)) return { intact: true, reasons: [] };
  const reasons = ['Pixel Data does not match the pixel hash in the capture attestation: the image was changed'];
  const t = attestation.tiles;
  if (!t) return { intact: false, reasons };
  const rows = decodeUS(findElement(ds, tag(0x0028, 0x0010))?.value) ?? 0;
  const cols = decodeUS(findElement(ds, tag(0x0028, 0x0011))?.value) ?? 0;
  const bits = decodeUS(findElement(ds, tag(0x0028, 0x0100))?.value) ?? 0;
  const grid = rows > 0 && cols > 0 && t.size > 0 ? tileGrid(rows, cols, t.size) : null;
  if (!grid || bits !== 16 || pixels.length !== rows * cols * 2 || t.hashes.length < grid.rows * grid.cols * 32) {
    reasons.push('the tile hash table does not fit the image geometry any more; changed tiles cannot be named');
    return { intact: false, reasons };
  }
  const tiles = changedTiles(t.hashes, tileHashes(pixels, rows, cols, t.size), grid);
  const list = tiles.slice(0, 12).map(([r, c]) => `[${r},${c}]`).join(' ');
  reasons.push(`${tiles.length} of ${grid.rows * grid.cols} tiles (${t.size}x${t.size} px) changed: ${list}${tiles.length > 12 ? ' ...' : ''}`);
  return { intact: false, tiles: { size: t.size, rows: grid.rows, cols: grid.cols, tiles }, reasons };
}
