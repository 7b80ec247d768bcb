// Pixel Data against the capture attestation: the attestation's hash of the
// stored pixels, and, when they differ, the signed per-tile table names where.
import { createHash, timingSafeEqual } from 'node:crypto';
import { type DataSet, findElement, tag, PIXEL_DATA } from '../dicom/model.js';
import type { CaptureAttestation } from '../dicom/attestation.js';
import { decodeUS } from '../dicom/values.js';
import { changedTiles, tileDigest, tileGrid, tileHashes } from '../core/tiles.js';
import type { TamperedTiles, VerifyReport } from './verify-report.js';
import { encodeFragments } from '../dicom/writer.js';
import { ENCAPSULATED_SYNTAXES } from '../dicom/transfer-syntax.js';


export interface PixelCheck {
  /** null when there are no native pixels to compare. */
  intact: boolean | null;
  tiles?: Omit<TamperedTiles, 'tableAuthenticated'>;
  reasons: string[];
}

/** The capture summary of a report: who sealed, the raw hash, and for a received object where it came from and what the pixel hash covers. */
export function captureSummary(a: CaptureAttestation): NonNullable<VerifyReport['capture']> {
  const rawSha256 = Buffer.from(a.rawFrameSha256).toString('hex');
  const r = a.received;
  if (!r) return { deviceId: a.deviceId, rawSha256 };
  const syntax = ENCAPSULATED_SYNTAXES.get(r.transferSyntaxUid) ?? r.transferSyntaxUid;
  const pixels = r.pixelEncoding === 'ENCAPSULATED'
    ? `the encapsulated ${syntax} stream as received (compressed bytes sealed unchanged; no watermark, no tile table)`
    : `native pixels (${r.numberOfFrames} frame(s)) as received, hashed before any watermark`;
  return { deviceId: a.deviceId, rawSha256, received: { source: r.source, callingAeTitle: r.callingAeTitle, peerAddress: r.peerAddress, pixels } };
}

export function checkPixels(ds: DataSet, attestation: CaptureAttestation): PixelCheck {
  const element = findElement(ds, PIXEL_DATA);
  // Encapsulated Pixel Data is hashed as encoded: items with their lengths, then the delimitation.
  const pixels = element?.fragments ? encodeFragments(element.fragments) : element?.value;
  if (!pixels) return { intact: null, reasons: [] };
  // node:crypto (OpenSSL, SHA-NI where the CPU has it) rather than the core: verification runs on
  // PACS servers, not on the capture device, and a second implementation checks the core's hash.
  // Format 3: the pixel hash is the tile digest of the pixels as stored (the tile table, then its digest).
  const stored = attestation.tileDigest ? storedTileDigest(ds, pixels, attestation, element?.fragments !== undefined) : undefined;
  const digest = stored ? stored.digest : new Uint8Array(createHash('sha256').update(pixels).digest());
  const expected = attestation.pixelDataSha256;
  if (expected.length === digest.length && timingSafeEqual(digest, expected)) return { intact: true, reasons: [] };
  const reasons = ['Pixel Data does not match the pixel hash in the capture attestation: the image was changed'];
  const t = attestation.tiles;
  if (!t || element?.fragments) return { intact: false, reasons };
  const rows = decodeUS(findElement(ds, tag(0x0028, 0x0010))?.value) ?? 0;
  const cols = decodeUS(findElement(ds, tag(0x0028, 0x0011))?.value) ?? 0;
  const bits = decodeUS(findElement(ds, tag(0x0028, 0x0100))?.value) ?? 0;
  // A multi-frame object's table holds every frame's tiles, frame after frame (tile rows stack).
  const frames = attestation.received?.numberOfFrames ?? 1;
  const grid = rows > 0 && cols > 0 && t.size > 0 ? tileGrid(rows, cols, t.size) : null;
  const frameBytes = rows * cols * 2;
  if (!grid || bits !== 16 || (pixels.length !== frameBytes * frames && pixels.length !== frameBytes * frames + 1) || t.hashes.length < grid.rows * grid.cols * 32 * frames) {
    reasons.push('the tile hash table does not fit the image geometry any more; changed tiles cannot be named');
    return { intact: false, reasons };
  }
  const actual = stored?.table ?? Buffer.concat(Array.from({ length: frames }, (_, f) => tileHashes(pixels.subarray(f * frameBytes, (f + 1) * frameBytes), rows, cols, t.size)));
  const tiles = changedTiles(t.hashes, actual, { ...grid, rows: grid.rows * frames });
  const list = tiles.slice(0, 12).map(([r, c]) => `[${r},${c}]`).join(' ');
  reasons.push(`${tiles.length} of ${grid.rows * grid.cols * frames} tiles (${t.size}x${t.size} px) changed: ${list}${tiles.length > 12 ? ' ...' : ''}`);
  if (frames > 1) reasons.push(`tile rows are counted across frames: frame f holds tile rows ${grid.rows}·f to ${grid.rows}·f+${grid.rows - 1}`);
  return { intact: false, tiles: { size: t.size, rows: grid.rows * frames, cols: grid.cols, tiles }, reasons };
}

/**
 * The tile digest (host/core/tiles.ts) of native single-frame pixels whose length is exactly
 * rows x columns x 2, so that the tiles cover every byte, with the table it was computed from (reused to
 * name changed tiles); an empty digest (never equal to one) otherwise.
 */
function storedTileDigest(ds: DataSet, pixels: Uint8Array, a: CaptureAttestation, encapsulated: boolean): { digest: Uint8Array; table?: Uint8Array } {
  const rows = decodeUS(findElement(ds, tag(0x0028, 0x0010))?.value) ?? 0;
  const cols = decodeUS(findElement(ds, tag(0x0028, 0x0011))?.value) ?? 0;
  const bits = decodeUS(findElement(ds, tag(0x0028, 0x0100))?.value) ?? 0;
  const size = a.tiles?.size ?? 0;
  if (encapsulated || a.received || bits !== 16 || rows < 1 || cols < 1 || size < 1 || pixels.length !== rows * cols * 2) return { digest: new Uint8Array(0) };
  const table = tileHashes(pixels, rows, cols, size);
  return { digest: tileDigest(table, rows, cols, size), table };
}
