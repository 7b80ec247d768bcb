// The Digital Signatures Macro (PS3.3 C.12.1.1.3): adding a signature to a
// data set and checking the signatures a data set holds. Key handling stays
// outside: a Signer signs, certificates arrive as DER.
import { createHash, verify as nodeVerify } from 'node:crypto';
import { type DataSet, type Element, type Tag, findElement, formatTag, putElement, tag } from './model.js';
import { TAGS, signableTags, writeMacStream } from './mac.js';
import { at, decodeAT, decodeString, decodeUS, ob, sq, str, us } from './values.js';
import { UID, newUid } from './uids.js';
import type { Signer } from '../keys/ed25519.js';
import { verifyEd25519 } from '../keys/ed25519.js';
import { parseCertificate, type CertInfo } from '../keys/certs.js';

export const SIG = {
  macIdNumber: tag(0x0400, 0x0005),
  macCalculationTransferSyntaxUid: tag(0x0400, 0x0010),
  macAlgorithm: tag(0x0400, 0x0015),
  dataElementsSigned: tag(0x0400, 0x0020),
  digitalSignatureUid: tag(0x0400, 0x0100),
  digitalSignatureDateTime: tag(0x0400, 0x0105),
  certificateType: tag(0x0400, 0x0110),
  purposeCodeSequence: tag(0x0400, 0x0401),
  codeValue: tag(0x0008, 0x0100),
  codingSchemeDesignator: tag(0x0008, 0x0102),
  codeMeaning: tag(0x0008, 0x0104),
} as const;

/** Digital Signature Purpose codes, CID 7007 (scheme ASTM-sigpurpose). */
export const PURPOSE = {
  author: { code: '1', meaning: "Author's Signature" },
  coauthor: { code: '2', meaning: "Coauthor's Signature" },
  verification: { code: '5', meaning: 'Verification Signature' },
  review: { code: '13', meaning: 'Review Signature' },
  source: { code: '14', meaning: 'Source Signature' },
  modification: { code: '16', meaning: 'Modification Signature' },
} as const;
export type Purpose = (typeof PURPOSE)[keyof typeof PURPOSE];

export type MacAlgorithm = 'SHA256' | 'SHA384' | 'SHA512';
const NODE_HASH: Record<MacAlgorithm, string> = { SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' };

/** Digest of the MAC stream; node:crypto (native SHA) because the stream includes whole frames. */
export function macDigest(ds: DataSet, signedTags: readonly Tag[], signatureItem: DataSet, algorithm: MacAlgorithm): { digest: Uint8Array; missing: Tag[] } {
  const h = createHash(NODE_HASH[algorithm]);
  const missing = writeMacStream(ds, signedTags, signatureItem, (chunk) => h.update(chunk));
  return { digest: new Uint8Array(h.digest()), missing };
}

/** DICOM DT with UTC offset, e.g. 20261125201530.123000+0000. */
export function dicomDateTime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds() * 1000, 6)}+0000`;
}

export function parseDicomDateTime(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$/.exec(s.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', se = '0', frac = '0', off = '+0000'] = m;
  const utc = Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +se, Math.floor(Number('0.' + frac) * 1000));
  const sign = off.startsWith('-') ? -1 : 1;
  const offMin = sign * (parseInt(off.slice(1, 3), 10) * 60 + parseInt(off.slice(3, 5), 10));
  return new Date(utc - offMin * 60_000);
}

function existingMacIds(ds: DataSet): number[] {
  const params = findElement(ds, TAGS.macParametersSequence);
  return (params?.items ?? []).map((item) => decodeUS(findElement(item, SIG.macIdNumber)?.value) ?? 0);
}

export interface SignOptions {
  signer: Signer;
  certificateDer: Uint8Array;
  purpose: Purpose;
  macAlgorithm?: MacAlgorithm;
  /** Defaults to every element the standard allows in a MAC. */
  signedTags?: Tag[];
  time?: Date;
}

/** Adds one Ed25519 signature (and its MAC Parameters item) to the top level of `ds`. */
export async function addSignature(ds: DataSet, opts: SignOptions): Promise<{ macId: number; signatureUid: string }> {
  const macAlgorithm = opts.macAlgorithm ?? 'SHA512';
  const macId = Math.max(0, ...existingMacIds(ds)) + 1;
  const signedTags = opts.signedTags ?? signableTags(ds);
  const signatureUid = newUid();
  const unsignedItem: DataSet = [
    us(SIG.macIdNumber, macId),
    str(SIG.digitalSignatureUid, 'UI', signatureUid),
    str(SIG.digitalSignatureDateTime, 'DT', dicomDateTime(opts.time ?? new Date())),
    str(SIG.certificateType, 'CS', 'X509_1993_SIG'),
    sq(SIG.purposeCodeSequence, [[
      str(SIG.codeValue, 'SH', opts.purpose.code),
      str(SIG.codingSchemeDesignator, 'SH', 'ASTM-sigpurpose'),
      str(SIG.codeMeaning, 'LO', opts.purpose.meaning),
    ]]),
  ];
  const { digest } = macDigest(ds, signedTags, unsignedItem, macAlgorithm);
  const signature = await opts.signer.sign(digest);
  const signatureItem = [...unsignedItem, ob(TAGS.certificateOfSigner, opts.certificateDer), ob(TAGS.signature, signature)]
    .sort((a, b) => a.tag - b.tag);
  const macItem: DataSet = [
    us(SIG.macIdNumber, macId),
    str(SIG.macCalculationTransferSyntaxUid, 'UI', UID.explicitVrLittleEndian),
    str(SIG.macAlgorithm, 'CS', macAlgorithm),
    at(SIG.dataElementsSigned, signedTags),
  ];
  appendItem(ds, TAGS.macParametersSequence, macItem);
  appendItem(ds, TAGS.digitalSignaturesSequence, signatureItem);
  return { macId, signatureUid };
}

function appendItem(ds: DataSet, seqTag: Tag, item: DataSet): void {
  const existing = findElement(ds, seqTag);
  putElement(ds, { tag: seqTag, vr: 'SQ', items: [...(existing?.items ?? []), item] });
}

/** DER is self-delimiting; an OB value may carry one pad byte after it. */
export function trimDer(value: Uint8Array): Uint8Array {
  if (value.length < 2 || value[0] !== 0x30) return value;
  const first = value[1]!;
  if (first < 0x80) return value.subarray(0, 2 + first);
  const n = first & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + value[2 + i]!;
  return value.subarray(0, Math.min(value.length, 2 + n + len));
}

export interface SignatureCheck {
  macId: number;
  signatureUid: string;
  /** Digital Signature DateTime as written. */
  time?: Date;
  purposeCode?: string;
  purpose?: string;
  macAlgorithm?: string;
  signedTags: Tag[];
  certificate?: CertInfo;
  algorithm: string;
  /** The signature is correct over the MAC stream of the data set as it is now. */
  valid: boolean;
  problems: string[];
}

function verifySignatureBytes(cert: CertInfo, digest: Uint8Array, signature: Uint8Array, stream: () => Uint8Array, alg: MacAlgorithm): boolean {
  if (cert.ed25519PublicKey) return verifyEd25519(signature, digest, cert.ed25519PublicKey);
  // RSA and ECDSA signatures from other implementations (DCMTK) sign the MAC
  // stream with the MAC algorithm as the digest; node:crypto checks them.
  try {
    const dsaEncoding = cert.keyType === 'ec' && signature.length === 64 ? 'ieee-p1363' : 'der';
    return nodeVerify(NODE_HASH[alg], stream(), { key: cert.x509.publicKey, dsaEncoding }, signature);
  } catch {
    return false;
  }
}

/** Checks every signature in the top-level Digital Signatures Sequence of `ds`. */
export function checkSignatures(ds: DataSet): SignatureCheck[] {
  const sigs = findElement(ds, TAGS.digitalSignaturesSequence)?.items ?? [];
  const macItems = findElement(ds, TAGS.macParametersSequence)?.items ?? [];
  return sigs.map((item) => checkOne(ds, item, macItems));
}

function checkOne(ds: DataSet, item: DataSet, macItems: DataSet[]): SignatureCheck {
  const get = (t: Tag): Element | undefined => findElement(item, t);
  const macId = decodeUS(get(SIG.macIdNumber)?.value) ?? -1;
  const purposeItem = get(SIG.purposeCodeSequence)?.items?.[0];
  const result: SignatureCheck = {
    macId,
    signatureUid: decodeString(get(SIG.digitalSignatureUid)?.value),
    time: parseDicomDateTime(decodeString(get(SIG.digitalSignatureDateTime)?.value)),
    purposeCode: purposeItem ? decodeString(findElement(purposeItem, SIG.codeValue)?.value) : undefined,
    purpose: purposeItem ? decodeString(findElement(purposeItem, SIG.codeMeaning)?.value) : undefined,
    signedTags: [],
    algorithm: 'unknown',
    valid: false,
    problems: [],
  };
  const macItem = macItems.find((m) => decodeUS(findElement(m, SIG.macIdNumber)?.value) === macId);
  if (!macItem) {
    result.problems.push(`no MAC Parameters item with MAC ID ${macId}`);
    return result;
  }
  const alg = decodeString(findElement(macItem, SIG.macAlgorithm)?.value) as MacAlgorithm;
  result.macAlgorithm = alg;
  const macTs = decodeString(findElement(macItem, SIG.macCalculationTransferSyntaxUid)?.value);
  result.signedTags = decodeAT(findElement(macItem, SIG.dataElementsSigned)?.value ?? new Uint8Array(0));
  if (!(alg in NODE_HASH)) result.problems.push(`unsupported MAC algorithm "${alg}"`);
  if (macTs !== UID.explicitVrLittleEndian) result.problems.push(`unsupported MAC calculation transfer syntax ${macTs || '(none)'}`);
  const certType = decodeString(get(SIG.certificateType)?.value);
  if (certType !== 'X509_1993_SIG') result.problems.push(`unsupported certificate type "${certType}"`);
  const certValue = get(TAGS.certificateOfSigner)?.value;
  const signature = get(TAGS.signature)?.value;
  if (!certValue) result.problems.push('no Certificate of Signer');
  if (!signature) result.problems.push('no Signature value');
  if (certValue) {
    try {
      result.certificate = parseCertificate(trimDer(certValue));
      result.algorithm = result.certificate.keyType === 'ed25519' ? 'Ed25519' : result.certificate.keyType.toUpperCase();
    } catch (err) {
      result.problems.push(`Certificate of Signer: ${(err as Error).message}`);
    }
  }
  if (result.problems.length || !result.certificate || !signature) return result;
  const { digest, missing } = macDigest(ds, result.signedTags, item, alg);
  const stream = () => {
    const parts: Uint8Array[] = [];
    writeMacStream(ds, result.signedTags, item, (c) => parts.push(c));
    return Buffer.concat(parts);
  };
  // Ed25519 signatures are exactly 64 bytes; an OB pad byte would make it odd, so none is ever present.
  result.valid = verifySignatureBytes(result.certificate, digest, signature, stream, alg);
  for (const t of missing) result.problems.push(`signed element ${formatTag(t)} is missing from the data set`);
  if (!result.valid) result.problems.push('signature does not match the signed data (content changed after signing)');
  return result;
}
