// What a signature must cover, and how strong its MAC must be, before radseal
// lets it vouch for an image; whether the technologist must co-sign.
import { readFileSync } from 'node:fs';
import { type Tag, tag, formatTag } from '../dicom/model.js';
import { ATTESTATION_TAGS, attestationTags, type AttestationBlock, type AttestationField } from '../dicom/attestation.js';

export interface RequiredTag {
  tag: Tag;
  name: string;
  /** An element of the capture attestation: `tag` is its place at (0009,10xx); it follows the block (requiredTagsAt). */
  attestation?: AttestationField;
}

export interface VerifyPolicy {
  /** Elements every vouching signature must list in Data Elements Signed. */
  requiredSignedTags: RequiredTag[];
  /** Accepted MAC algorithms (SHA1/RIPEMD160/MD5 are never accepted by default). */
  acceptedMacAlgorithms: string[];
  /** When true, an object without a valid, trusted technologist co-signature is not authentic. */
  requireTechnologistSignature: boolean;
  /** Elements the technologist's signature must cover in addition to requiredSignedTags. */
  technologistSignedTags: RequiredTag[];
}

export const OPERATORS_NAME = tag(0x0008, 0x1070);
export const OPERATOR_IDENTIFICATION_SEQUENCE = tag(0x0008, 0x1072);

export const DEFAULT_POLICY: VerifyPolicy = {
  requiredSignedTags: [
    { tag: tag(0x7fe0, 0x0010), name: 'Pixel Data' },
    { tag: tag(0x0008, 0x0016), name: 'SOP Class UID' },
    { tag: tag(0x0008, 0x0018), name: 'SOP Instance UID' },
    { tag: tag(0x0020, 0x000d), name: 'Study Instance UID' },
    { tag: tag(0x0020, 0x000e), name: 'Series Instance UID' },
    { tag: tag(0x0010, 0x0010), name: "Patient's Name" },
    { tag: tag(0x0010, 0x0020), name: 'Patient ID' },
    // The Image Pixel module's mandatory attributes decide how Pixel Data is read at all;
    // everything else present (spacing, laterality, LUTs, overlays...) must be covered too,
    // which verify checks for every element (coverage.ts) rather than by a list.
    { tag: tag(0x0028, 0x0002), name: 'Samples per Pixel' },
    { tag: tag(0x0028, 0x0004), name: 'Photometric Interpretation' },
    { tag: tag(0x0028, 0x0010), name: 'Rows' },
    { tag: tag(0x0028, 0x0011), name: 'Columns' },
    { tag: tag(0x0028, 0x0100), name: 'Bits Allocated' },
    { tag: tag(0x0028, 0x0101), name: 'Bits Stored' },
    { tag: tag(0x0028, 0x0102), name: 'High Bit' },
    { tag: tag(0x0028, 0x0103), name: 'Pixel Representation' },
    { tag: ATTESTATION_TAGS.creator, name: 'radseal private creator', attestation: 'creator' },
    { tag: ATTESTATION_TAGS.rawFrameSha256, name: 'raw frame hash (capture attestation)', attestation: 'rawFrameSha256' },
    { tag: ATTESTATION_TAGS.pixelDataSha256, name: 'pixel data hash (capture attestation)', attestation: 'pixelDataSha256' },
    { tag: ATTESTATION_TAGS.deviceId, name: 'device id (capture attestation)', attestation: 'deviceId' },
  ],
  acceptedMacAlgorithms: ['SHA256', 'SHA384', 'SHA512'],
  requireTechnologistSignature: false,
  technologistSignedTags: [
    { tag: OPERATORS_NAME, name: "Operators' Name" },
    { tag: OPERATOR_IDENTIFICATION_SEQUENCE, name: 'Operator Identification Sequence' },
  ],
};

/** Required tags with the attestation's at the block where the object holds it (capture: (0009,0010); proxy: a 7FE1 block). */
export function requiredTagsAt(required: readonly RequiredTag[], at: AttestationBlock): RequiredTag[] {
  const tags = attestationTags(at);
  return required.map((r) => (r.attestation ? { ...r, tag: tags[r.attestation] } : r));
}

export class PolicyError extends Error {
  override name = 'PolicyError';
}

const KNOWN_MAC = ['SHA256', 'SHA384', 'SHA512', 'SHA1', 'RIPEMD160', 'MD5'];

function parseTagText(s: unknown, source: string): Tag {
  const m = typeof s === 'string' ? /^\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?$/.exec(s.trim()) : null;
  if (!m) throw new PolicyError(`${source}: "${String(s)}" is not a tag like "0018,1164"`);
  return tag(parseInt(m[1]!, 16), parseInt(m[2]!, 16));
}

/**
 * A policy from JSON, layered on the default:
 * { "requireTechnologistSignature": true,
 *   "acceptedMacAlgorithms": ["SHA384", "SHA512"],
 *   "additionalRequiredSignedTags": ["0018,1164"] }
 * The default minimum signed set can only be extended, never reduced.
 */
export function parsePolicy(json: unknown, source = 'policy'): VerifyPolicy {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new PolicyError(`${source}: expected a JSON object`);
  const policy: VerifyPolicy = { ...DEFAULT_POLICY, requiredSignedTags: [...DEFAULT_POLICY.requiredSignedTags] };
  for (const [k, v] of Object.entries(json)) {
    if (k === 'requireTechnologistSignature') {
      if (typeof v !== 'boolean') throw new PolicyError(`${source}: ${k} must be true or false`);
      policy.requireTechnologistSignature = v;
    } else if (k === 'acceptedMacAlgorithms') {
      if (!Array.isArray(v) || v.length === 0 || !v.every((a) => typeof a === 'string' && KNOWN_MAC.includes(a))) {
        throw new PolicyError(`${source}: ${k} must be a non-empty list of ${KNOWN_MAC.join(', ')}`);
      }
      const weak = v.filter((a) => !DEFAULT_POLICY.acceptedMacAlgorithms.includes(a));
      if (weak.length) throw new PolicyError(`${source}: MAC algorithms below SHA256 are never accepted (${weak.join(', ')})`);
      policy.acceptedMacAlgorithms = v as string[];
    } else if (k === 'additionalRequiredSignedTags') {
      if (!Array.isArray(v)) throw new PolicyError(`${source}: ${k} must be a list of tags`);
      for (const t of v) {
        const parsed = parseTagText(t, source);
        policy.requiredSignedTags.push({ tag: parsed, name: formatTag(parsed) });
      }
    } else {
      throw new PolicyError(`${source}: unknown key "${k}" (known: requireTechnologistSignature, acceptedMacAlgorithms, additionalRequiredSignedTags)`);
    }
  }
  return policy;
}

export function readPolicyFile(path: string): VerifyPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new PolicyError(`cannot read policy file ${path}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PolicyError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return parsePolicy(json, path);
}
