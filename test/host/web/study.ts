// One real study for the browser tests: four DX images sealed by the test device and co-signed by
// the test technologist, in one study and series, the last with pixels changed after sealing.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { sealFrame } from '../../../host/seal/seal.js';
import { sha256 } from '../../../host/core/hash.js';
import { newUid } from '../../../host/dicom/uids.js';
import { pixelBytes } from '../../../host/dicom/dx.js';
import { makeIdentities, META, testFrame, type Identities } from '../dicom/fixtures.js';
import { tamperPixels } from '../../services/ingest-fixtures.js';

export interface Study {
  ids: Identities;
  /** Files: three authentic, then one tampered. */
  files: string[];
  bytes: Uint8Array[];
  studyUid: string;
  seriesUid: string;
  /** Study Instance UID of each image (all the same unless separateStudies). */
  studyUids: string[];
}

/** separateStudies: each image in a study (and series) of its own instead. */
export async function makeStudy(dir: string, o: { separateStudies?: boolean } = {}): Promise<Study> {
  const ids = await makeIdentities(dir);
  const studyUid = newUid();
  const seriesUid = newUid();
  const bytes: Uint8Array[] = [];
  const studyUids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const uids = o.separateStudies ? { studyInstanceUid: newUid(), seriesInstanceUid: newUid() } : { studyInstanceUid: studyUid, seriesInstanceUid: seriesUid };
    studyUids.push(uids.studyInstanceUid);
    const frame = testFrame(256, 320, 14, 10 + i);
    const sealed = await sealFrame({ frame, rawFrameSha256: sha256(pixelBytes(frame.pixels)), frameSerial: 500 + i, meta: { ...META, ...uids }, technologist: ids.technologist }, ids.device);
    bytes.push(i === 3 ? tamperPixels(sealed.bytes, 70, 140, 20, 20) : sealed.bytes);
  }
  const files = bytes.map((b, i) => {
    const f = join(dir, i === 3 ? 'tampered.dcm' : `authentic-${i}.dcm`);
    writeFileSync(f, b);
    return f;
  });
  return { ids, files, bytes, studyUid, seriesUid, studyUids };
}
