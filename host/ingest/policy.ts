// What a signature must cover, and how strong its MAC must be, before radseal
// lets it vouch for an image.
import { type Tag, tag } from '../dicom/model.js';
import { ATTESTATION_TAGS } from '../dicom/attestation.js';

export interface VerifyPolicy {
  /** Elements every vouching signature must list in Data Elements Signed. */
  requiredSignedTags: { tag: Tag; name: string }[];
  /** Accepted MAC algorithms (SHA1/RIPEMD160 are never accepted). */
  acceptedMacAlgorithms: string[];
}

export const DEFAULT_POLICY: VerifyPolicy = {
  requiredSignedTags: [
    { tag: tag(0x7fe0, 0x0010), name: 'Pixel Data' },
    { tag: tag(0x0008, 0x0016), name: 'SOP Class UID' },
    { tag: tag(0x0008, 0x0018), name: 'SOP Instance UID' },
    { tag: tag(0x0020, 0x000d), name: 'Study Instance UID' },
    { tag: tag(0x0020, 0x000e), name: 'Series Instance UID' },
    { tag: tag(0x0010, 0x0010), name: "Patient's Name" },
    { tag: tag(0x0010, 0x0020), name: 'Patient ID' },
    { tag: ATTESTATION_TAGS.creator, name: 'radseal private creator' },
    { tag: ATTESTATION_TAGS.rawFrameSha256, name: 'raw frame hash (capture attestation)' },
    { tag: ATTESTATION_TAGS.deviceId, name: 'device id (capture attestation)' },
  ],
  acceptedMacAlgorithms: ['SHA256', 'SHA384', 'SHA512'],
};
