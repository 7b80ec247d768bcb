// DICOMweb STOW-RS (PS3.18 §10.5): store instances by HTTP POST of a multipart/related body with
// one application/dicom part per instance, the Part 10 file's bytes exactly as they are (the
// signatures cover the data set; nothing may re-encode it). The response's Referenced SOP
// Sequence (0008,1199) says what was stored, Failed SOP Sequence (0008,1198) what was not.
// Errors are DicomNetError, retryable or not, so the forwarder treats them like C-STORE's.
import { randomBytes } from 'node:crypto';
import { DicomNetError, parsePart10 } from './cstore.js';

export interface StowTarget {
  /** The STOW-RS endpoint, e.g. http://pacs:8042/dicom-web/studies */
  url: string;
  timeoutMs?: number;
}

const REFERENCED_SOP_SEQUENCE = '00081199';
const FAILED_SOP_SEQUENCE = '00081198';
const REFERENCED_SOP_INSTANCE_UID = '00081155';
const FAILURE_REASON = '00081197';

type DicomJson = Record<string, { Value?: unknown[] }>;

/** Sends one Part 10 file; resolves when the origin server lists it as stored. */
export async function stowRs(t: StowTarget, file: Uint8Array): Promise<void> {
  const uid = parsePart10(file).sopInstanceUid;
  const boundary = `radseal-${randomBytes(12).toString('hex')}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  let res: Response;
  try {
    res = await fetch(t.url, {
      method: 'POST',
      body,
      headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`, accept: 'application/dicom+json' },
      signal: AbortSignal.timeout(t.timeoutMs ?? 60000),
    });
  } catch (e) {
    const err = e as Error & { cause?: Error };
    throw new DicomNetError(`STOW-RS ${t.url} unreachable: ${err.cause?.message ?? err.message}`, true);
  }
  const text = await res.text();
  let answer: DicomJson | undefined;
  try {
    const j = JSON.parse(text) as DicomJson | DicomJson[];
    answer = Array.isArray(j) ? j[0] : j;
  } catch {
    answer = undefined;
  }
  const items = (tag: string) => (answer?.[tag]?.Value ?? []) as DicomJson[];
  const uidOf = (i: DicomJson) => String(i[REFERENCED_SOP_INSTANCE_UID]?.Value?.[0] ?? '');
  const failed = items(FAILED_SOP_SEQUENCE).find((i) => uidOf(i) === uid);
  if (failed) {
    const reason = Number(failed[FAILURE_REASON]?.Value?.[0] ?? 0);
    // 0xA7xx: out of resources (try again later); anything else is about this object.
    throw new DicomNetError(`STOW-RS ${t.url}: ${uid} not stored (failure reason 0x${reason.toString(16).toUpperCase().padStart(4, '0')})`, (reason & 0xff00) === 0xa700);
  }
  if (res.status === 200 || res.status === 202) {
    if (items(REFERENCED_SOP_SEQUENCE).some((i) => uidOf(i) === uid)) return;
    throw new DicomNetError(`STOW-RS ${t.url}: HTTP ${res.status} but ${uid} is not in the Referenced SOP Sequence`, true);
  }
  // 409 Conflict: none stored; 4xx other than 408/429: the request itself is wrong; 5xx, 408, 429: try later.
  const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
  throw new DicomNetError(`STOW-RS ${t.url}: HTTP ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`, retryable);
}
