// The Digital Signatures Macro (PS3.3 C.12.1.1.3): adding a signature to a
// data set and checking the signatures a data set holds. Key handling stays
// outside: a Signer signs, certificates arrive as DER.
import { createHash, createVerify, verify as cryptoVerify, type Hash, type KeyObject } from 'node:crypto';
import { type DataSet, type Element, type Tag, elementOf, findElement, formatTag, putElement, tag } from './model.js';
import { TAGS, holdsUN, signableTags, writeMacElements, writeMacStream, writeSignatureItemStream } from './mac.js';
import { at, decodeAT, decodeString, decodeUS, ob, sq, str, us } from './values.js';
import { UID, newUid } from './uids.js';
import type { Signer } from '../keys/ed25519.js';
import { isEcdsaSigner } from '../keys/ecdsa.js';
import { parseCertificate, type CertInfo } from '../keys/certs.js';
import { encodeDataSet } from './writer.js';
import { verifyP256Digest as p256DigestValid } from '../keys/p256-verify.js';

export const SIG = {
  macIdNumber: tag(0x0400, 0x0005),
  macCalculationTransferSyntaxUid: tag(0x0400, 0x0010),
  macAlgorithm: tag(0x0400, 0x0015),
  dataElementsSigned: tag(0x0400, 0x0020),
  digitalSignatureUid: tag(0x0400, 0x0100),
  digitalSignatureDateTime: tag(0x0400, 0x0105),
  certificateType: tag(0x0400, 0x0110),
  certifiedTimestampType: tag(0x0400, 0x0305),
  certifiedTimestamp: tag(0x0400, 0x0310),
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
/** Weak MAC algorithms radseal never writes but can still check (so policy, not a failed check, rejects them). */
type LegacyMacAlgorithm = 'RIPEMD160' | 'SHA1' | 'MD5';
// A Map, never an object: the algorithm name comes from the file, and "constructor" must not find anything.
const NODE_HASH: ReadonlyMap<string, string> = new Map<MacAlgorithm | LegacyMacAlgorithm, string>([
  ['SHA256', 'sha256'], ['SHA384', 'sha384'], ['SHA512', 'sha512'], ['RIPEMD160', 'ripemd160'], ['SHA1', 'sha1'], ['MD5', 'md5'],
]);
/** node:crypto's name for a DICOM MAC algorithm. */
export const nodeHash = (algorithm: string): string => {
  const name = NODE_HASH.get(algorithm);
  if (!name) throw new Error(`unsupported MAC algorithm "${algorithm}"`);
  return name;
};

/** Digest of the MAC stream; node:crypto (native SHA) because the stream includes whole frames. */
export function macDigest(ds: DataSet, signedTags: readonly Tag[], signatureItem: DataSet, algorithm: MacAlgorithm | LegacyMacAlgorithm): { digest: Uint8Array; missing: Tag[] } {
  const h = createHash(nodeHash(algorithm));
  const missing = writeMacStream(ds, signedTags, signatureItem, (chunk) => h.update(chunk));
  return { digest: new Uint8Array(h.digest()), missing };
}

/**
 * The data elements' part of the MAC stream hashed once, for every signature over these tags with
 * this algorithm (addSignature's elementsMac: each signature finishes a copy with its own item).
 */
export function hashMacElements(ds: DataSet, signedTags: readonly Tag[], algorithm: MacAlgorithm): NonNullable<SignOptions['elementsMac']> {
  const hash = createHash(nodeHash(algorithm));
  writeMacElements(ds, signedTags, (chunk) => hash.update(chunk));
  return { hash, signedTags, algorithm };
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
  // Out-of-range fields would roll over into another date (month 13 is next January): not a DT at all.
  const days = new Date(Date.UTC(+y!, +mo!, 0)).getUTCDate();
  if (+mo! < 1 || +mo! > 12 || +d! < 1 || +d! > days || +h > 23 || +mi > 59 || +se > 60) return undefined;
  if (+off.slice(1, 3) > 14 || +off.slice(3, 5) > 59) return undefined;
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
  /**
   * A hash already fed with the data elements' part of the MAC stream (mac.ts writeMacElements)
   * for exactly these signed tags and this algorithm, e.g. while Pixel Data arrived: a copy of it
   * takes the signature item's part, so the elements are not hashed again.
   */
  elementsMac?: { hash: Hash; signedTags: readonly Tag[]; algorithm: MacAlgorithm };
  /** The MAC ID of a MAC Parameters item planMac added for this signature (its tags and algorithm), instead of a new item. */
  plannedMacId?: number;
}

/**
 * The MAC algorithm of every signature radseal makes. ECDSA P-256 takes the SHA-512 digest cut to
 * the curve's 256 bits (FIPS 186-5 §6.4.1, as OpenSSL's ECDSA_sign and dcmsign do), which keeps
 * 128-bit strength; one algorithm lets the device, ECDSA and technologist signatures share one
 * pass over the pixels at seal and at verify.
 */
export const SEAL_MAC_ALGORITHM: MacAlgorithm = 'SHA512';

/**
 * Adds one signature (and its MAC Parameters item) to the top level of `ds`.
 * Ed25519 (RFC 8032 pure) signs the MAC digest as its message; ECDSA P-256
 * signs the MAC digest as the hash value, as DCMTK/OpenSSL ECDSA_sign does,
 * DER-encoded.
 */
export async function addSignature(ds: DataSet, opts: SignOptions): Promise<{ macId: number; signatureUid: string }> {
  const ecdsa = isEcdsaSigner(opts.signer) ? opts.signer : undefined;
  const macAlgorithm = opts.macAlgorithm ?? opts.elementsMac?.algorithm ?? SEAL_MAC_ALGORITHM;
  const signedTags = opts.signedTags ?? signableTags(ds);
  const macId = opts.plannedMacId ?? Math.max(0, ...existingMacIds(ds)) + 1;
  if (opts.plannedMacId !== undefined) checkPlannedMac(ds, opts.plannedMacId, macAlgorithm, signedTags);
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
  const digest = opts.elementsMac ? continuedMac(opts.elementsMac, signedTags, unsignedItem, macAlgorithm) : macDigest(ds, signedTags, unsignedItem, macAlgorithm).digest;
  let signature = ecdsa ? await ecdsa.signDigest(digest) : await opts.signer.sign(digest);
  // A DER ECDSA signature can have odd length; OB pads it with a NUL that
  // OpenSSL's strict DER check would reject, so sign again (fresh k) until even.
  for (let tries = 0; ecdsa && signature.length % 2 && tries < 64; tries++) signature = await ecdsa.signDigest(digest);
  if (signature.length % 2) throw new Error('internal: could not produce an even-length signature');
  const signatureItem = [...unsignedItem, ob(TAGS.certificateOfSigner, opts.certificateDer), ob(TAGS.signature, signature)]
    .sort((a, b) => a.tag - b.tag);
  if (opts.plannedMacId === undefined) appendItem(ds, TAGS.macParametersSequence, macParametersItem(macId, macAlgorithm, signedTags));
  appendItem(ds, TAGS.digitalSignaturesSequence, signatureItem);
  return { macId, signatureUid };
}

function macParametersItem(macId: number, algorithm: MacAlgorithm, signedTags: readonly Tag[]): DataSet {
  return [
    us(SIG.macIdNumber, macId),
    str(SIG.macCalculationTransferSyntaxUid, 'UI', UID.explicitVrLittleEndian),
    str(SIG.macAlgorithm, 'CS', algorithm),
    at(SIG.dataElementsSigned, [...signedTags]),
  ];
}

/**
 * Adds the MAC Parameters item of a signature still to be made and returns its MAC ID (addSignature
 * with plannedMacId makes the signature). The item lies before Pixel Data, the signatures after it:
 * with every MAC planned, the object's head is final before the pixels are hashed, so a caller can
 * write the head and the pixels while the MAC is computed.
 */
export function planMac(ds: DataSet, signedTags: readonly Tag[], algorithm: MacAlgorithm = SEAL_MAC_ALGORITHM): number {
  const macId = Math.max(0, ...existingMacIds(ds)) + 1;
  appendItem(ds, TAGS.macParametersSequence, macParametersItem(macId, algorithm, signedTags));
  return macId;
}

/** The planned MAC Parameters item is there, for exactly this algorithm and these tags, and no signature has taken it. */
function checkPlannedMac(ds: DataSet, macId: number, algorithm: MacAlgorithm, signedTags: readonly Tag[]): void {
  const item = (findElement(ds, TAGS.macParametersSequence)?.items ?? []).find((i) => decodeUS(findElement(i, SIG.macIdNumber)?.value) === macId);
  const planned = item && encodeDataSet(item);
  const expected = encodeDataSet(macParametersItem(macId, algorithm, signedTags));
  const taken = (findElement(ds, TAGS.digitalSignaturesSequence)?.items ?? []).some((i) => decodeUS(findElement(i, SIG.macIdNumber)?.value) === macId);
  if (!planned || taken || !Buffer.from(planned).equals(expected)) throw new Error(`internal: MAC ID ${macId} was not planned for this signature (its MAC Parameters item is missing, taken or for other elements)`);
}

function continuedMac(elementsMac: NonNullable<SignOptions['elementsMac']>, signedTags: readonly Tag[], item: DataSet, algorithm: MacAlgorithm): Uint8Array {
  const same = elementsMac.algorithm === algorithm && elementsMac.signedTags.length === signedTags.length && elementsMac.signedTags.every((t, i) => t === signedTags[i]);
  if (!same) throw new Error('internal: the MAC hashed ahead covers other elements or another algorithm than this signature');
  const h = elementsMac.hash.copy();
  writeSignatureItemStream(item, (chunk) => h.update(chunk));
  return new Uint8Array(h.digest());
}

/** The Digital Signatures Sequence item with this Digital Signature UID. */
function signatureItem(ds: DataSet, signatureUid: string): DataSet | undefined {
  return (findElement(ds, TAGS.digitalSignaturesSequence)?.items ?? []).find((i) => decodeString(findElement(i, SIG.digitalSignatureUid)?.value) === signatureUid);
}

/**
 * Adds a Certified Timestamp (type CMS_TSP: an RFC 3161 time-stamp token over the Digital
 * Signature value) to the signature item with this UID. The Digital Signatures Sequence is outside
 * every MAC, so this leaves all signatures valid.
 */
export function addCertifiedTimestamp(ds: DataSet, signatureUid: string, token: Uint8Array): void {
  const item = signatureItem(ds, signatureUid);
  if (!item) throw new Error(`no Digital Signatures Sequence item with UID ${signatureUid}`);
  putElement(item, str(SIG.certifiedTimestampType, 'CS', 'CMS_TSP'));
  putElement(item, ob(SIG.certifiedTimestamp, token));
}

/** The Signature (0400,0120) value of the signature item with this UID. */
export function signatureValue(ds: DataSet, signatureUid: string): Uint8Array {
  const item = signatureItem(ds, signatureUid);
  const v = item && findElement(item, TAGS.signature)?.value;
  if (!v) throw new Error(`no Signature value in the item with UID ${signatureUid}`);
  return v;
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

/**
 * A DER value as an OB element holds it: the DER and at most one NUL pad byte. Bytes after the DER
 * are outside the MAC and ignored by every check, so they would be a payload riding along unsigned.
 */
function derValue(value: Uint8Array, what: string, problems: string[]): Uint8Array {
  const der = trimDer(value);
  const extra = value.subarray(der.length);
  if (extra.length > 1 || extra.some((b) => b !== 0)) problems.push(`${what} holds ${extra.length} byte(s) after its DER encoding: content outside every signature`);
  return der;
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
  /** The signature could be checked at all (known MAC algorithm and transfer syntax, a certificate, a value). */
  checked: boolean;
  /** The signature is correct over the MAC stream of the data set as it is now. */
  valid: boolean;
  problems: string[];
  /** Signature (0400,0120) as stored. */
  signature?: Uint8Array;
  /** Certified Timestamp (0400,0310) and its type (0400,0305), when present. */
  certifiedTimestamp?: { type: string; token: Uint8Array };
}

/** Streams the MAC into a verifier: no copy of the stream (or of Pixel Data) is ever made. */
function verifyStreamed(ds: DataSet, signedTags: readonly Tag[], item: DataSet, alg: MacAlgorithm | LegacyMacAlgorithm, cert: CertInfo, signature: Uint8Array): { valid: boolean; missing: Tag[] } {
  // RSA (PKCS#1 v1.5 over DigestInfo) and ECDSA signatures from DCMTK sign the
  // MAC stream hashed with the MAC algorithm; node:crypto checks both.
  const v = createVerify(nodeHash(alg));
  const missing = writeMacStream(ds, signedTags, item, (c) => v.update(c));
  try {
    const ec = cert.keyType === 'ec';
    return { valid: v.verify({ key: cert.x509.publicKey, dsaEncoding: 'der' }, ec ? trimDer(signature) : signature), missing };
  } catch {
    return { valid: false, missing };
  }
}

/** False for any malformed signature instead of throwing: a bad signature is an answer. */
function verifyEd25519WithKey(signature: Uint8Array, message: Uint8Array, key: KeyObject): boolean {
  if (signature.length !== 64) return false;
  try {
    return cryptoVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Key size or curve, e.g. "RSA-2048", "ECDSA-P256", "Ed25519". */
export function keyDescription(cert: CertInfo): string {
  if (cert.keyType === 'rsa') return `RSA-${cert.x509.publicKey.asymmetricKeyDetails?.modulusLength ?? '?'}`;
  return algorithmName(cert);
}

/** Name of a signature algorithm from its certificate's key. */
export function algorithmName(cert: CertInfo): string {
  if (cert.keyType === 'ed25519') return 'Ed25519';
  if (cert.keyType === 'ec') {
    const curve = cert.x509.publicKey.asymmetricKeyDetails?.namedCurve;
    return curve === 'prime256v1' ? 'ECDSA-P256' : `ECDSA-${curve ?? 'unknown'}`;
  }
  if (cert.keyType === 'rsa') return 'RSA';
  return cert.keyType.toUpperCase();
}

/** What the Digital Signatures macro (PS3.3 C.12.1.1.3) puts in a MAC Parameters item, with its VR. */
const MAC_ITEM_VRS: ReadonlyMap<Tag, string> = new Map<Tag, string>([
  [SIG.macIdNumber, 'US'], [SIG.macCalculationTransferSyntaxUid, 'UI'], [SIG.macAlgorithm, 'CS'], [SIG.dataElementsSigned, 'AT'],
]);

/** The text values of a MAC Parameters item, each with its one shape (PS3.5 6.2: UI at most 64 bytes, CS 16). */
const MAC_ITEM_TEXT: ReadonlyArray<[Tag, RegExp, string]> = [
  [SIG.macCalculationTransferSyntaxUid, /^(?=.{1,64}$)[0-9.]+[\0 ]?$/s, 'one UID'],
  [SIG.macAlgorithm, /^(?=.{1,16}$) *[A-Z0-9_]+ *$/s, 'one defined term'],
];

/**
 * The signature envelope (MAC Parameters and Digital Signatures Sequences) lies outside every MAC,
 * so no signature vouches for its structure. Anything that leaves open which parameters a
 * signature was made with is named here, and verify refuses the object: a MAC ID or signature
 * UID used twice, a MAC Parameters item holding anything but the macro's four attributes (with
 * their VRs).
 */
export function envelopeProblems(ds: DataSet): string[] {
  const problems: string[] = [];
  const macItems = findElement(ds, TAGS.macParametersSequence)?.items ?? [];
  const sigItems = findElement(ds, TAGS.digitalSignaturesSequence)?.items ?? [];
  const twice = (values: string[], what: string) => {
    const seen = new Set<string>();
    for (const v of values) {
      if (seen.has(v)) problems.push(`${what} ${v} occurs in more than one item`);
      seen.add(v);
    }
  };
  twice(macItems.map((i) => String(decodeUS(findElement(i, SIG.macIdNumber)?.value))), 'MAC Parameters: MAC ID Number');
  twice(sigItems.map((i) => String(decodeUS(findElement(i, SIG.macIdNumber)?.value))), 'Digital Signatures: MAC ID Number');
  twice(sigItems.map((i) => decodeString(findElement(i, SIG.digitalSignatureUid)?.value)), 'Digital Signatures: Digital Signature UID');
  const exact = (item: DataSet, t: Tag, bytes: number, where: string) => {
    const v = findElement(item, t)?.value;
    if (v && v.length !== bytes) problems.push(`${where}: ${formatTag(t)} holds ${v.length} bytes, not one ${bytes}-byte value`);
  };
  sigItems.forEach((item, n) => exact(item, SIG.macIdNumber, 2, `Digital Signatures item ${n + 1}`));
  sigItems.forEach((item, n) => {
    if (findElement(item, SIG.certifiedTimestampType) && !findElement(item, SIG.certifiedTimestamp)) problems.push(`Digital Signatures item ${n + 1} has a Certified Timestamp Type but no Certified Timestamp`);
  });
  // Without any signature the parameters say nothing (an object whose signatures were stripped is unsigned).
  const usedMacIds = new Set(sigItems.map((i) => decodeUS(findElement(i, SIG.macIdNumber)?.value)));
  if (sigItems.length) macItems.forEach((item, n) => {
    const id = decodeUS(findElement(item, SIG.macIdNumber)?.value);
    if (!usedMacIds.has(id)) problems.push(`MAC Parameters item ${n + 1} (MAC ID ${id ?? 'none'}) belongs to no signature`);
  });
  macItems.forEach((item, n) => {
    exact(item, SIG.macIdNumber, 2, `MAC Parameters item ${n + 1}`);
    const listed = findElement(item, SIG.dataElementsSigned)?.value;
    if (listed && (listed.length === 0 || listed.length % 4)) problems.push(`MAC Parameters item ${n + 1}: Data Elements Signed holds ${listed.length} bytes, not whole tags`);
    else if (listed) {
      const tags = decodeAT(listed);
      if (new Set(tags).size !== tags.length) problems.push(`MAC Parameters item ${n + 1}: Data Elements Signed lists a tag twice`);
      // "in the order they appear in the Data Set" (PS3.3 C.12.1.1.3.1.1), as DCMTK writes them: any other order is room for a payload.
      else if (tags.some((t, i) => i > 0 && t < tags[i - 1]!)) problems.push(`MAC Parameters item ${n + 1}: Data Elements Signed is not in data set order`);
    }
    // Outside every MAC, so each value in its one shape: a UID (one pad byte), a defined term of at most 16
    // characters. Read as text, a run of NULs and spaces after them is stripped: room for a payload in NUL/space bits.
    for (const [t, shape, what] of MAC_ITEM_TEXT) {
      const v = findElement(item, t)?.value;
      if (v && !shape.test(Buffer.from(v).toString('latin1'))) problems.push(`MAC Parameters item ${n + 1}: ${formatTag(t)} holds ${v.length} bytes that are not ${what}: content outside every signature`);
    }
    for (const el of item) {
      const vr = MAC_ITEM_VRS.get(el.tag);
      // UN: a copy that went through Implicit VR lost every VR; verify names that re-encoding itself.
      // Group lengths and padding (all zeros, or the reader refuses it) hold nothing: DCMTK pads every item (dcmconv +p).
      if (vr === undefined && elementOf(el.tag) !== 0 && el.tag !== TAGS.dataSetTrailingPadding) problems.push(`MAC Parameters item ${n + 1} holds ${formatTag(el.tag)}, which the Digital Signatures macro does not define there`);
      else if (vr !== undefined && el.vr !== vr && el.vr !== 'UN') problems.push(`MAC Parameters item ${n + 1}: ${formatTag(el.tag)} has VR ${el.vr}, not ${vr}`);
    }
  });
  return problems;
}

/**
 * Checks every signature in the top-level Digital Signatures Sequence of `ds`. Signatures that
 * are checked against the MAC digest itself (Ed25519 signs it as its message, ECDSA P-256 as its
 * hash value) and whose MAC lists the same elements with the same algorithm (a device signature,
 * a technologist co-signature, an ECDSA signature made with the same MAC algorithm) share one
 * pass over the data elements: the elements' part of the MAC stream is hashed once and a copy of
 * that hash takes each signature item's own part, which gives exactly the digest the whole stream
 * would (test/host/dicom/shared-mac.test.ts checks it against a pass per signature on valid,
 * tampered and forged objects; test/host/ingest/shared-ecdsa.test.ts against dcmsign).
 */
export function checkSignatures(ds: DataSet): SignatureCheck[] {
  const sigs = findElement(ds, TAGS.digitalSignaturesSequence)?.items ?? [];
  const macItems = findElement(ds, TAGS.macParametersSequence)?.items ?? [];
  const prepared = sigs.map((item) => prepareOne(item, macItems));
  const digests = sharedMacDigests(ds, prepared.filter((p) => p.result.checked && checksDigest(p.result.certificate!)));
  return prepared.map((p) => finishOne(ds, p, digests.get(p)));
}

const isP256 = (cert: CertInfo): boolean => cert.keyType === 'ec' && cert.x509.publicKey.asymmetricKeyDetails?.namedCurve === 'prime256v1';

/** Whether the signature is checked against a MAC digest computed beforehand (not hashed again by the verifier). */
const checksDigest = (cert: CertInfo): boolean => !!cert.ed25519PublicKey || isP256(cert);

interface Prepared {
  item: DataSet;
  result: SignatureCheck;
  alg: MacAlgorithm | LegacyMacAlgorithm;
}

/**
 * The MAC digests of Ed25519 signatures and of ECDSA P-256 ones that share their pass, one pass over
 * the data elements per (algorithm, signed tags). An ECDSA signature alone in its group is left to
 * node:crypto, which hashes the stream as it verifies (no second pass to save there).
 */
function sharedMacDigests(ds: DataSet, candidates: Prepared[]): Map<Prepared, { digest: Uint8Array; missing: Tag[] }> {
  const groups = new Map<string, Prepared[]>();
  for (const p of candidates) {
    const key = `${p.alg} ${p.result.signedTags.join(',')}`;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(p);
  }
  const out = new Map<Prepared, { digest: Uint8Array; missing: Tag[] }>();
  for (const group of groups.values()) {
    if (group.length === 1 && !group[0]!.result.certificate!.ed25519PublicKey) continue;
    const first = group[0]!;
    const elements = createHash(nodeHash(first.alg));
    const missing = writeMacElements(ds, first.result.signedTags, (c) => elements.update(c));
    group.forEach((p, i) => {
      // The last one finishes the elements' hash itself: a copy only where another still needs it.
      const h = i === group.length - 1 ? elements : elements.copy();
      writeSignatureItemStream(p.item, (c) => h.update(c));
      out.set(p, { digest: new Uint8Array(h.digest()), missing });
    });
  }
  return out;
}

/** The elements of a signature item its own MAC leaves out, with their VR (PS3.3 C.12.1.1.3). */
const EXCLUDED_VR: ReadonlyMap<Tag, string> = new Map<Tag, string>([
  [TAGS.certificateOfSigner, 'OB'], [TAGS.signature, 'OB'], [TAGS.certifiedTimestampType, 'CS'], [TAGS.certifiedTimestamp, 'OB'],
]);

/** Reads one signature item and its MAC parameters; `checked` says whether it can be checked at all. */
function prepareOne(item: DataSet, macItems: DataSet[]): Prepared {
  const get = (t: Tag): Element | undefined => findElement(item, t);
  const macId = decodeUS(get(SIG.macIdNumber)?.value) ?? -1;
  const purposeItem = get(SIG.purposeCodeSequence)?.items?.[0];
  const dateTime = decodeString(get(SIG.digitalSignatureDateTime)?.value);
  const result: SignatureCheck = {
    macId,
    signatureUid: decodeString(get(SIG.digitalSignatureUid)?.value),
    time: parseDicomDateTime(dateTime),
    purposeCode: purposeItem ? decodeString(findElement(purposeItem, SIG.codeValue)?.value) : undefined,
    purpose: purposeItem ? decodeString(findElement(purposeItem, SIG.codeMeaning)?.value) : undefined,
    signedTags: [],
    algorithm: 'unknown',
    checked: false,
    valid: false,
    problems: [],
  };
  // Type 1, and what revocation and certificate validity are judged at: a signature without it cannot be placed in time.
  if (!result.time) result.problems.push(`Digital Signature DateTime (0400,0105) "${dateTime}" is missing or not a valid DT`);
  const macItem = macItems.find((m) => decodeUS(findElement(m, SIG.macIdNumber)?.value) === macId);
  if (!macItem) {
    result.problems.push(`no MAC Parameters item with MAC ID ${macId}`);
    return { item, result, alg: 'SHA512' };
  }
  const alg = decodeString(findElement(macItem, SIG.macAlgorithm)?.value) as MacAlgorithm | LegacyMacAlgorithm;
  result.macAlgorithm = alg;
  const macTs = decodeString(findElement(macItem, SIG.macCalculationTransferSyntaxUid)?.value);
  result.signedTags = decodeAT(findElement(macItem, SIG.dataElementsSigned)?.value ?? new Uint8Array(0));
  if (!NODE_HASH.has(alg)) result.problems.push(`unsupported MAC algorithm "${alg}"`);
  if (macTs !== UID.explicitVrLittleEndian) result.problems.push(`unsupported MAC calculation transfer syntax ${macTs || '(none)'}`);
  const certType = decodeString(get(SIG.certificateType)?.value);
  if (certType !== 'X509_1993_SIG') result.problems.push(`unsupported certificate type "${certType}"`);
  const certValue = get(TAGS.certificateOfSigner)?.value;
  const signature = get(TAGS.signature)?.value;
  result.signature = signature;
  const token = get(SIG.certifiedTimestamp)?.value;
  if (token) result.certifiedTimestamp = { type: decodeString(get(SIG.certifiedTimestampType)?.value), token: derValue(token, 'Certified Timestamp', result.problems) };
  // The item's own elements are in its MAC, but UN ones (and sequences holding UN) never are: in a
  // signature item they would be content nobody signed.
  for (const el of item) {
    if (holdsUN(el)) result.problems.push(`the signature item holds ${formatTag(el.tag)} as UN, which no MAC covers: content outside every signature`);
    // These four are outside the item's own MAC too: each in the one VR the macro gives it.
    else if (EXCLUDED_VR.has(el.tag) && el.vr !== EXCLUDED_VR.get(el.tag)) result.problems.push(`${formatTag(el.tag)} has VR ${el.vr}, not ${EXCLUDED_VR.get(el.tag)}`);
  }
  if (!certValue) result.problems.push('no Certificate of Signer');
  if (!signature) result.problems.push('no Signature value');
  if (certValue) {
    try {
      result.certificate = parseCertificate(derValue(certValue, 'Certificate of Signer', result.problems));
      result.algorithm = algorithmName(result.certificate);
      if (signature && result.certificate.keyType === 'ec') derValue(signature, 'Signature', result.problems);
    } catch (err) {
      result.problems.push(`Certificate of Signer: ${(err as Error).message}`);
    }
  }
  result.checked = !result.problems.length && !!result.certificate && !!signature;
  return { item, result, alg };
}

/**
 * ECDSA P-256 over a MAC digest as its hash value (as OpenSSL's ECDSA_verify takes it: longer
 * digests are cut to the curve's 256 bits). Like OpenSSL: strict DER only, either half of s.
 */
function verifyP256Digest(signature: Uint8Array, digest: Uint8Array, cert: CertInfo): boolean {
  return p256DigestValid(trimDer(signature), digest, cert.x509.publicKey);
}

/** Checks a prepared signature; with its MAC digest when sharedMacDigests made one. */
function finishOne(ds: DataSet, p: Prepared, mac: { digest: Uint8Array; missing: Tag[] } | undefined): SignatureCheck {
  const { result, item, alg } = p;
  if (!result.checked) return result;
  const certificate = result.certificate!;
  const signature = result.signature!;
  let missing: Tag[];
  if (certificate.ed25519PublicKey) {
    // Ed25519 signatures are exactly 64 bytes; an OB pad byte would make it odd, so none is ever present.
    // node:crypto (OpenSSL, RFC 8032's strict checks) at the PACS side: an implementation other than
    // the one that signed (@noble/ed25519), and ten times faster on a busy gateway.
    const d = mac ?? macDigest(ds, result.signedTags, item, alg);
    missing = d.missing;
    result.valid = verifyEd25519WithKey(signature, d.digest, certificate.x509.publicKey);
  } else if (mac) {
    missing = mac.missing;
    result.valid = verifyP256Digest(signature, mac.digest, certificate);
  } else {
    ({ valid: result.valid, missing } = verifyStreamed(ds, result.signedTags, item, alg, certificate, signature));
  }
  // A listed element that is not there was removed after signing, or the (unsigned) list was
  // lengthened: either way the object is not what was signed.
  for (const t of missing) result.problems.push(`signed element ${formatTag(t)} is missing from the data set`);
  if (missing.length) result.valid = false;
  if (!result.valid) result.problems.push('signature does not match the signed data (content changed after signing)');
  return result;
}
