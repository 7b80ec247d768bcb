// Assigning an unassigned exposure to a procedure: a second sealed object,
// never an edit of the first (docs/WORKLIST.md says why).
//
// The new object is the first one's data set with the same pixels and the same
// capture attestation (raw frame hash, pixel hash, tile table, watermark: all
// still true of these pixels), a new SOP Instance UID, the patient, study,
// series and request attributes of the procedure, a reference to the first
// object (Source Image Sequence, and in a private block its SOP Instance UID and
// the SHA-256 of its file bytes), and new device signatures over all of it.
import { createHash } from 'node:crypto';
import { findElement, putElement, tag, type DataSet, type Element } from '../dicom/model.js';
import { readPart10 } from '../dicom/reader.js';
import { decodeString, ob, sq, str } from '../dicom/values.js';
import { encodePart10 } from '../dicom/writer.js';
import { newUid } from '../dicom/uids.js';
import { TAGS as MAC_TAGS, signableTags } from '../dicom/mac.js';
import { ATTESTATION_TAGS } from '../dicom/attestation.js';
import { addSignature, dicomDateTime, hashMacElements, PURPOSE, SEAL_MAC_ALGORITHM } from '../dicom/signatures.js';
import type { DeviceIdentity } from './seal.js';

/** radseal's assignment block: (0009,0011) reserves (0009,11xx). */
export const ASSIGNMENT_CREATOR = 'RADSEAL ASSIGNMENT 1.0';
export const ASSIGNMENT_TAGS = {
  creator: tag(0x0009, 0x0011),
  /** SOP Instance UID of the unassigned object this one files (UI). */
  unassignedSopInstanceUid: tag(0x0009, 0x1101),
  /** SHA-256 of the unassigned object's Part 10 file, byte for byte (OB). */
  unassignedFileSha256: tag(0x0009, 0x1102),
  /** When the assignment was made (DT). */
  assignedDateTime: tag(0x0009, 0x1103),
  /** Who asked for it: the workstation user, as the control endpoint saw them (LO). */
  assignedBy: tag(0x0009, 0x1104),
} as const;

const T = tag;
const SOP_CLASS_UID = T(0x0008, 0x0016);
const SOP_INSTANCE_UID = T(0x0008, 0x0018);
const PIXEL_DATA = T(0x7fe0, 0x0010);

export interface AssignmentRequest {
  /** The unassigned object's Part 10 bytes, exactly as held in the outbox. */
  original: Uint8Array;
  /** Patient, study, series and request elements of the procedure: they replace the first object's. */
  filing: Element[];
  assignedBy: string;
  time?: Date;
}

export interface SealedAssignment {
  bytes: Uint8Array;
  sopInstanceUid: string;
  originalSopInstanceUid: string;
  originalFileSha256: Uint8Array;
}

export async function sealAssignment(req: AssignmentRequest, device: DeviceIdentity): Promise<SealedAssignment> {
  const parsed = readPart10(req.original);
  if (parsed.anomalies.length) throw new Error(`the unassigned object is not as radseal wrote it: ${parsed.anomalies[0]}`);
  const ds: DataSet = parsed.dataSet.filter((e) => e.tag !== MAC_TAGS.macParametersSequence && e.tag !== MAC_TAGS.digitalSignaturesSequence);
  const sopClassUid = decodeString(findElement(ds, SOP_CLASS_UID)?.value);
  const originalSopInstanceUid = decodeString(findElement(ds, SOP_INSTANCE_UID)?.value);
  if (!findElement(ds, ATTESTATION_TAGS.creator)) throw new Error(`object ${originalSopInstanceUid} has no capture attestation: not a radseal capture`);
  const originalFileSha256 = new Uint8Array(createHash('sha256').update(req.original).digest());
  const time = req.time ?? new Date();
  const sopInstanceUid = newUid();
  const stamp = dicomDateTime(time);
  const replaced: Element[] = [
    ...req.filing,
    str(T(0x0008, 0x0012), 'DA', stamp.slice(0, 8)),
    str(T(0x0008, 0x0013), 'TM', stamp.slice(8, 14)),
    str(SOP_INSTANCE_UID, 'UI', sopInstanceUid),
    sq(T(0x0008, 0x2112), [[str(T(0x0008, 0x1150), 'UI', sopClassUid), str(T(0x0008, 0x1155), 'UI', originalSopInstanceUid)]]),
    str(ASSIGNMENT_TAGS.creator, 'LO', ASSIGNMENT_CREATOR),
    str(ASSIGNMENT_TAGS.unassignedSopInstanceUid, 'UI', originalSopInstanceUid),
    ob(ASSIGNMENT_TAGS.unassignedFileSha256, originalFileSha256),
    str(ASSIGNMENT_TAGS.assignedDateTime, 'DT', stamp),
    str(ASSIGNMENT_TAGS.assignedBy, 'LO', req.assignedBy.slice(0, 64)),
  ];
  for (const el of replaced) putElement(ds, el);
  // The device signs as at capture: everything, then (with a tile table) everything but the pixels.
  const elementsMac = hashMacElements(ds, signableTags(ds), SEAL_MAC_ALGORITHM);
  await addSignature(ds, { signer: device.signer, certificateDer: device.certificateDer, purpose: PURPOSE.source, time, elementsMac });
  if (findElement(ds, ATTESTATION_TAGS.tileSha256Table)) {
    await addSignature(ds, { signer: device.signer, certificateDer: device.certificateDer, purpose: PURPOSE.source, signedTags: signableTags(ds).filter((t) => t !== PIXEL_DATA), time });
  }
  if (device.ecdsa) await addSignature(ds, { signer: device.ecdsa.signer, certificateDer: device.ecdsa.certificateDer, purpose: PURPOSE.source, time, elementsMac });
  return { bytes: encodePart10({ sopClassUid, sopInstanceUid }, ds), sopInstanceUid, originalSopInstanceUid, originalFileSha256 };
}
