// Sealed and tampered objects for the ingest tests, and small helpers shared
// by the gateway, audit, report and Orthanc tests.
import { readPart10 } from '../../host/dicom/reader.js';
import { findElement, tag } from '../../host/dicom/model.js';
import { makeIdentities, sealTo, testFrame, type Identities } from '../host/dicom/fixtures.js';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { AuditLog } from '../../host/ingest/audit.js';
import { Ingestor, type NonAuthenticPolicy } from '../../host/ingest/gateway/ingest.js';
import { parseCertificates } from '../../host/keys/certs.js';

export interface Objects {
  ids: Identities;
  sealed: Uint8Array[];
  /** sealed[0] with a 20x20 px patch changed inside tile [1,2] (64 px tiles). */
  tampered: Uint8Array;
  unsigned: Uint8Array;
}

/** Changes a rectangle of pixels (rows y0..y0+h, cols x0..x0+w) in a copy of a sealed object. */
export function tamperPixels(bytes: Uint8Array, y0: number, x0: number, h: number, w: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  const ds = readPart10(copy).dataSet;
  const cols = new DataView(findElement(ds, tag(0x0028, 0x0011))!.value!.buffer, findElement(ds, tag(0x0028, 0x0011))!.value!.byteOffset).getUint16(0, true);
  const px = findElement(ds, tag(0x7fe0, 0x0010))!.value!;
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) px[2 * (y * cols + x)] ^= 0x5a;
  return copy;
}

/** A copy cut before its Digital Signatures Sequence: no signature left (MAC Parameters stay). */
export function stripSignatures(bytes: Uint8Array): Uint8Array {
  // Cut the file at the Digital Signatures Sequence (FFFA,FFFA), the last element radseal writes.
  for (let o = bytes.length - 12; o > 132; o--) {
    if (bytes[o] === 0xfa && bytes[o + 1] === 0xff && bytes[o + 2] === 0xfa && bytes[o + 3] === 0xff && bytes[o + 4] === 0x53 && bytes[o + 5] === 0x51) {
      const out = bytes.slice(0, o);
      return out;
    }
  }
  throw new Error('no Digital Signatures Sequence found');
}

export async function makeObjects(dir: string, n = 2, rows = 256, cols = 320): Promise<Objects> {
  const ids = await makeIdentities(dir);
  const sealed: Uint8Array[] = [];
  for (let i = 0; i < n; i++) sealed.push(await sealTo(join(dir, `sealed-${i}.dcm`), testFrame(rows, cols, 14, i + 1), ids.device, { frameSerial: 100 + i }));
  return { ids, sealed, tampered: tamperPixels(sealed[0]!, 70, 140, 20, 20), unsigned: stripSignatures(sealed[1]!) };
}

/**
 * An Ingestor over DIR/store and DIR/quarantine that trusts the objects' identities, with its audit
 * log at DIR/audit.jsonl (closed when the test ends).
 */
export function testIngestor(t: { after(fn: () => void): void }, dir: string, objs: Objects, onNonAuthentic: NonAuthenticPolicy): { ingestor: Ingestor; auditPath: string } {
  const auditPath = join(dir, 'audit.jsonl');
  const audit = new AuditLog(auditPath);
  t.after(() => audit.close());
  const trust = parseCertificates(readFileSync(objs.ids.trustPem));
  return { ingestor: new Ingestor({ trust, storeDir: join(dir, 'store'), quarantineDir: join(dir, 'quarantine'), audit, onNonAuthentic }), auditPath };
}
