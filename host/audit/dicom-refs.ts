// The patient and study of a DICOM object, for ATNA participant objects (ATNA messages name
// the patient by design; radseal's JSON audit log never does). Reads with the one Part 10
// reader; an object that cannot be read has no references, never an error.
import { readFileSync } from 'node:fs';
import { readPart10 } from '../dicom/reader.js';
import { findElement, tag, type DataSet } from '../dicom/model.js';
import { decodeString } from '../dicom/values.js';
import type { ObjectRefs } from './emit.js';

export function objectRefs(bytes: Uint8Array, sopInstanceUid: string | null, sopClassUid: string | null): ObjectRefs {
  let ds: DataSet;
  try {
    ds = readPart10(bytes).dataSet;
  } catch {
    return {};
  }
  return refsOfDataSet(ds, sopInstanceUid, sopClassUid);
}

export function refsOfDataSet(ds: DataSet, sopInstanceUid: string | null, sopClassUid: string | null): ObjectRefs {
  const str = (g: number, e: number) => decodeString(findElement(ds, tag(g, e))?.value) || undefined;
  const patientId = str(0x0010, 0x0020);
  const studyUid = str(0x0020, 0x000d);
  const accession = str(0x0008, 0x0050);
  const classUid = sopClassUid ?? str(0x0008, 0x0016);
  const instanceUid = sopInstanceUid ?? str(0x0008, 0x0018);
  return {
    ...(patientId !== undefined ? { patient: { id: patientId, name: str(0x0010, 0x0010) } } : {}),
    ...(studyUid ? { study: { studyInstanceUid: studyUid, ...(accession ? { accessionNumber: accession } : {}), sopClasses: classUid ? [{ uid: classUid, instances: instanceUid ? [instanceUid] : [] }] : [] } } : {}),
  };
}

/** The references of a DICOM file on disk (for the forwarder's audit). */
export function fileRefs(path: string): ObjectRefs {
  return objectRefs(readFileSync(path), null, null);
}
