// A minimal DICOM C-STORE SCU (PS3.8 upper layer + PS3.7 DIMSE), written by hand.
//
// Why not a library: a sealed object's signatures cover its exact data set
// bytes. dcmjs re-encodes data sets (DESIGN §3: it rewrote Specific Character
// Set and DS values), and dcmjs-dimse sends through dcmjs, so a signed object
// would arrive at PACS with broken signatures. This SCU sends the file's own
// bytes: the Part 10 meta header (group 0002) is stripped, as the standard
// requires on the wire, and everything after it goes out untouched in P-DATA
// fragments, in the transfer syntax the file was written in. The association
// itself (A-ASSOCIATE, P-DATA-TF, A-RELEASE, A-ABORT) is host/net/association.ts.
import { readPart10Meta } from '../dicom/reader.js';
import { commandElement, uidValue, usValue } from './pdu.js';
import { Association, DIMSE, DicomNetError, errorComment, responseStatus, type AssociationTarget } from './association.js';

export { DicomNetError, parseTarget } from './association.js';

export interface Part10 {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** Offset of the first data set byte (after the meta header). */
  dataSetOffset: number;
}

/**
 * What the SCU needs from a Part 10 file: its meta header's UIDs and where the data set starts,
 * read by the one Part 10 reader (host/dicom/reader.ts). Not Part 10: DicomNetError, not retryable.
 */
export function parsePart10(bytes: Uint8Array): Part10 {
  let m;
  try {
    m = readPart10Meta(bytes);
  } catch (err) {
    throw new DicomNetError((err as Error).message, false);
  }
  if (!m.mediaStorageSopClassUid || !m.mediaStorageSopInstanceUid) throw new DicomNetError('Part 10 meta header lacks (0002,0002) or (0002,0003)', false);
  return { sopClassUid: m.mediaStorageSopClassUid, sopInstanceUid: m.mediaStorageSopInstanceUid, transferSyntaxUid: m.transferSyntaxUid, dataSetOffset: m.dataSetOffset };
}

/** A C-STORE SCP: AE@HOST:PORT, optionally over TLS (host/net/association.ts). */
export type CStoreTarget = AssociationTarget;

function cStoreRq(p: Part10, messageId: number): Uint8Array[] {
  return [
    commandElement(DIMSE.affectedSopClass, uidValue(p.sopClassUid)),
    commandElement(DIMSE.commandField, usValue(0x0001)), // C-STORE-RQ
    commandElement(DIMSE.messageId, usValue(messageId)),
    commandElement(DIMSE.priority, usValue(0)), // MEDIUM priority
    commandElement(DIMSE.affectedSopInstance, uidValue(p.sopInstanceUid)),
  ];
}

/**
 * Whether a C-STORE failure status is worth retrying: 0xA7xx out of resources, 0x0213 resource
 * limitation. The others (0xA9xx, 0xCxxx data set problems, 0x0122 SOP class not supported,
 * 0x0124 not authorized, 0x0110 processing failure…) are about this object: sending it again
 * gets the same answer.
 */
export function isTransientStatus(status: number): boolean {
  return (status & 0xff00) === 0xa700 || status === 0x0213;
}

export interface CStoreResult {
  status: number;
  /** 0x0000 success; 0xB000/0xB006/0xB007 stored with a warning. */
  stored: boolean;
  bytesSent: number;
}

/** Sends one Part 10 file's data set, byte for byte, by C-STORE. */
export async function cStore(t: CStoreTarget, file: Uint8Array): Promise<CStoreResult> {
  const p = parsePart10(file);
  // One context, in the file's own transfer syntax: anything else would re-encode signed bytes.
  const a = await Association.open(t, [{ abstractSyntax: p.sopClassUid, transferSyntaxes: [p.transferSyntaxUid] }]);
  try {
    const pc = a.contextFor(p.sopClassUid);
    if (!pc) {
      throw new DicomNetError(`${t.calledAe} refused SOP class ${p.sopClassUid} in transfer syntax ${p.transferSyntaxUid} (presentation context result ${a.contextResult(0)}); not retrying, the object would be re-encoded otherwise`, false);
    }
    const ds = file.subarray(p.dataSetOffset);
    await a.send(pc.id, cStoreRq(p, a.newMessageId()), ds);
    // Response: a command (Implicit VR LE regardless of the data set's syntax).
    const rsp = await a.receive();
    const status = responseStatus(rsp, 'C-STORE');
    await a.release();
    const stored = status === 0 || status === 0xb000 || status === 0xb006 || status === 0xb007;
    if (!stored) {
      const comment = errorComment(rsp);
      throw new DicomNetError(`C-STORE of ${p.sopInstanceUid} failed with status 0x${status.toString(16).padStart(4, '0')}${comment ? ` (${comment})` : ''}`, isTransientStatus(status));
    }
    return { status, stored, bytesSent: ds.length };
  } finally {
    a.close();
  }
}

export { IMPLICIT_LE } from './pdu.js';
