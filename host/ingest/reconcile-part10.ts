// reconcile() on a Part 10 file: bytes in, bytes out. Only objects whose every byte radseal's
// reader accounts for are corrected: Explicit VR Little Endian (what the MAC is computed in, and
// what the writer writes), no ambiguity (duplicate or out-of-order elements, trailing bytes).
import { readPart10 } from '../dicom/reader.js';
import { encodePart10 } from '../dicom/writer.js';
import { findElement, tag } from '../dicom/model.js';
import { decodeString } from '../dicom/values.js';
import { UID } from '../dicom/uids.js';
import { type AttributeChange, type Reconciled, type ReconcileOptions, ReconcileError, reconcile } from './reconcile.js';

export async function reconcilePart10(bytes: Uint8Array, changes: readonly AttributeChange[], opts: ReconcileOptions): Promise<{ bytes: Uint8Array; result: Reconciled }> {
  const file = readPart10(bytes);
  if (file.transferSyntaxUid !== UID.explicitVrLittleEndian) {
    throw new ReconcileError(`transfer syntax ${file.transferSyntaxUid}: only Explicit VR Little Endian objects are corrected (retrieve the original)`);
  }
  if (file.anomalies.length) throw new ReconcileError(`the object is ambiguous: ${file.anomalies[0]}`);
  const result = await reconcile(file.dataSet, changes, opts);
  const sopClassUid = decodeString(findElement(result.dataSet, tag(0x0008, 0x0016))?.value);
  const sopInstanceUid = decodeString(findElement(result.dataSet, tag(0x0008, 0x0018))?.value);
  if (!sopClassUid || !sopInstanceUid) throw new ReconcileError('the object has no SOP Class or SOP Instance UID');
  return { bytes: encodePart10({ sopClassUid, sopInstanceUid }, result.dataSet), result };
}
