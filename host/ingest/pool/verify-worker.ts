// One thread of the verify pool (verify-pool.ts): loads the trust bundle once,
// then reads, hashes and verifies one object at a time as the pool asks.
// Everything about one object comes back as a result; only a trust bundle that
// cannot be loaded is fatal (every object would fail the same way).
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseCertificates, type TrustSet } from '../../keys/certs.js';
import { verifyObject } from '../verify.js';
import { readPart10 } from '../../dicom/reader.js';
import { findElement, tag } from '../../dicom/model.js';
import { decodeString } from '../../dicom/values.js';
import type { FromWorker, ObjectAttributes, PoolJob, PoolResult, WorkerSetup } from './verify-pool.js';
import { ReusedRead } from '../../io/reused-read.js';

const setup = workerData as WorkerSetup;
const port = parentPort!;

function loadTrust(): TrustSet {
  const bytes = typeof setup.trust === 'string' ? readFileSync(setup.trust) : setup.trust;
  const set = parseCertificates(bytes);
  if (set.length === 0) throw new Error('the trust bundle holds no certificate');
  set.revocation = setup.revocation;
  return set;
}

/**
 * One buffer per worker for the files it reads: safe because a worker verifies one object at a
 * time, synchronously from read to result, and the result holds no view of the bytes.
 */
const reader = new ReusedRead();

/** Reads a local file whole, refusing (before reading) one larger than the limit. */
function readLocal(path: string): Uint8Array {
  return reader.read(path, setup.maxObjectBytes);
}

/** GETs an object; a multipart/related answer (WADO-RS) is unwrapped to its first part, as sent. */
async function readRemote(url: string, headers: Record<string, string>): Promise<Uint8Array> {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > setup.maxObjectBytes) throw new Error(`object of ${declared} bytes is larger than the ${setup.maxObjectBytes}-byte limit; not read`);
  const body = new Uint8Array(await res.arrayBuffer());
  const type = res.headers.get('content-type') ?? '';
  return /^multipart\/related/i.test(type) ? firstPart(body, type) : body;
}

/**
 * The first body part of a multipart/related message (RFC 2046), byte for byte. By hand because
 * it is a few lines and the part's bytes must come out untouched (they are what was signed).
 */
export function firstPart(body: Uint8Array, contentType: string): Uint8Array {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) throw new Error('multipart answer without a boundary');
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = `--${m[1]}`;
  const start = buf.indexOf(delimiter);
  if (start < 0) throw new Error('multipart answer without its boundary');
  const headersEnd = buf.indexOf('\r\n\r\n', start);
  if (headersEnd < 0) throw new Error('multipart part without headers');
  const end = buf.indexOf(`\r\n${delimiter}`, headersEnd + 4);
  if (end < 0) throw new Error('multipart answer cut short (no closing boundary)');
  return body.subarray(headersEnd + 4, end);
}

const ATTRS: Record<keyof ObjectAttributes, number> = {
  modality: tag(0x0008, 0x0060),
  studyDate: tag(0x0008, 0x0020),
  studyInstanceUid: tag(0x0020, 0x000d),
  seriesInstanceUid: tag(0x0020, 0x000e),
  manufacturer: tag(0x0008, 0x0070),
  modelName: tag(0x0008, 0x1090),
  deviceSerialNumber: tag(0x0018, 0x1000),
  stationName: tag(0x0008, 0x1010),
};

/** The attributes an archive summary groups by; null where the object is unreadable or lacks one. */
function attributesOf(bytes: Uint8Array): ObjectAttributes | null {
  try {
    const ds = readPart10(bytes).dataSet;
    const out = {} as ObjectAttributes;
    for (const [k, t] of Object.entries(ATTRS)) out[k as keyof ObjectAttributes] = decodeString(findElement(ds, t)?.value) || null;
    return out;
  } catch {
    return null;
  }
}

async function verifyJob(job: PoolJob, trust: TrustSet): Promise<PoolResult> {
  let bytes: Uint8Array;
  try {
    bytes = job.url ? await readRemote(job.url, job.headers ?? {}) : readLocal(job.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { path: job.path, size: null, fileSha256: null, error: `cannot read ${job.path}: ${code ?? (err as Error).message}` };
  }
  const fileSha256 = setup.describe ? createHash('sha256').update(bytes).digest('hex') : null;
  const report = verifyObject(job.path, bytes, trust, { policy: setup.policy, watermarkKey: setup.watermarkKey, fullPixelCheck: setup.fullPixelCheck });
  return { path: job.path, size: bytes.byteLength, fileSha256, report, attributes: setup.describe ? attributesOf(bytes) : null };
}

let trust: TrustSet;
try {
  trust = loadTrust();
  port.postMessage({ type: 'ready' } satisfies FromWorker);
  port.on('message', (job: PoolJob) => {
    void verifyJob(job, trust).then((result) => port.postMessage({ type: 'result', id: job.id, result } satisfies FromWorker));
  });
} catch (err) {
  port.postMessage({ type: 'fatal', message: `trust bundle: ${(err as Error).message}` } satisfies FromWorker);
}
