// One verify result as the results store keeps it.
import type { PoolResult } from '../ingest/pool/verify-pool.js';
import type { ArchiveItem } from './sources.js';
import type { ResultRow } from './store.js';

/**
 * The device an object is filed under: the sealing device its capture attestation names, else
 * what the data set claims (station, serial, make and model), marked as a claim.
 */
function deviceOf(r: PoolResult): string | null {
  if (r.report?.capture?.deviceId) return r.report.capture.deviceId;
  const a = r.attributes;
  const claimed = a?.stationName ?? a?.deviceSerialNumber ?? ([a?.manufacturer, a?.modelName].filter(Boolean).join(' ') || null);
  return claimed ? `${claimed} (not sealed)` : null;
}

export function toRow(item: ArchiveItem, r: PoolResult): ResultRow {
  if (r.error !== undefined) {
    return { itemKey: item.key, path: item.path, sopInstanceUid: null, fileSha256: null, size: null, verdict: null, error: r.error, reasons: [], device: null, modality: null, studyDate: null, seriesInstanceUid: null, report: null };
  }
  return {
    itemKey: item.key, path: item.path, sopInstanceUid: r.report.sopInstanceUid, fileSha256: r.fileSha256, size: r.size,
    verdict: r.report.verdict, error: null, reasons: r.report.reasons, device: deviceOf(r), modality: r.attributes?.modality ?? null,
    studyDate: r.attributes?.studyDate ?? null, seriesInstanceUid: r.attributes?.seriesInstanceUid ?? null, report: JSON.stringify(r.report),
  };
}
