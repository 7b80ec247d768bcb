// RFC 3161 time-stamps for DICOM signatures (PS3.3 C.12.1.1.3: Certified Timestamp Type
// "CMS_TSP", a time-stamp token over the Digital Signature value). A device's clock says when it
// signed; a time-stamping authority (TSA) certifies that the signature existed at a time the
// device cannot set. Messages are built and parsed with PKIjs (RFC 3161 and CMS structures);
// the token's signature is checked here with node:crypto, synchronously, because PKIjs checks
// through WebCrypto (asynchronous) and verification in radseal is synchronous.
import { createHash, createVerify, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { chainProblem, parseCertificate } from './certs.js';

const OID = {
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
} as const;
const HASHES: Record<string, string> = { [OID.sha256]: 'sha256', [OID.sha384]: 'sha384', [OID.sha512]: 'sha512' };

const ab = (u: Uint8Array): ArrayBuffer => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;
const u8 = (b: ArrayBuffer | ArrayBufferView): Uint8Array => (b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && timingSafeEqual(a, b);

export interface TimestampRequest {
  der: Uint8Array;
  nonce: Uint8Array;
  imprint: Uint8Array;
}

/** A TimeStampReq for SHA-256(signature), with a random nonce and the TSA's certificate asked for. */
export function timestampRequest(signature: Uint8Array): TimestampRequest {
  const imprint = new Uint8Array(createHash('sha256').update(signature).digest());
  const nonce = randomBytes(8);
  // DER INTEGER: positive (top bit clear) and minimal (no leading zero byte, which OpenSSL's TSA
  // refuses as a bad request and which a TSA may echo re-encoded): first byte 0x01..0x7f.
  nonce[0] = (nonce[0]! & 0x7f) || 1;
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }),
      hashedMessage: new asn1js.OctetString({ valueHex: ab(imprint) }),
    }),
    nonce: new asn1js.Integer({ valueHex: ab(nonce) }),
    certReq: true,
  });
  return { der: u8(req.toSchema().toBER(false)), nonce, imprint };
}

function parse(der: Uint8Array, what: string): asn1js.AsnType {
  const asn = asn1js.fromBER(ab(der));
  if (asn.offset === -1) throw new Error(`${what}: not DER (${asn.result.error})`);
  return asn.result;
}

/**
 * The time-stamp token (CMS ContentInfo DER) from a TSA's TimeStampResp, after checking that the
 * TSA granted it, for our imprint and nonce. The token's signature is checked by verifyTimestamp.
 */
export function tokenFromResponse(respDer: Uint8Array, req: TimestampRequest): Uint8Array {
  const resp = new pkijs.TimeStampResp({ schema: parse(respDer, 'time-stamp response') });
  const status = resp.status.status;
  if (status !== 0 && status !== 1) {
    const text = resp.status.statusStrings?.map((s) => s.valueBlock.value).join('; ');
    throw new Error(`the TSA refused the request (status ${status}${text ? `: ${text}` : ''})`);
  }
  if (!resp.timeStampToken) throw new Error('the TSA granted the request but sent no token');
  const token = u8(resp.timeStampToken.toSchema().toBER(false));
  const info = tstInfo(token);
  if (!info.nonce || !same(u8(info.nonce.valueBlock.valueHexView), req.nonce)) throw new Error('the TSA answered with another nonce (not an answer to this request)');
  if (!same(u8(info.messageImprint.hashedMessage.valueBlock.valueHexView), req.imprint)) throw new Error('the TSA time-stamped another imprint');
  return token;
}

function signedData(token: Uint8Array): pkijs.SignedData {
  const ci = new pkijs.ContentInfo({ schema: parse(token, 'time-stamp token') });
  if (ci.contentType !== OID.signedData) throw new Error(`time-stamp token: content type ${ci.contentType}, not CMS SignedData`);
  return new pkijs.SignedData({ schema: ci.content });
}

function tstInfo(token: Uint8Array): pkijs.TSTInfo {
  const sd = signedData(token);
  if (sd.encapContentInfo.eContentType !== OID.tstInfo) throw new Error('time-stamp token: the signed content is not a TSTInfo');
  const content = sd.encapContentInfo.eContent;
  if (!content) throw new Error('time-stamp token: no TSTInfo in it');
  return new pkijs.TSTInfo({ schema: parse(u8(content.getValue()), 'TSTInfo') });
}

export interface TimestampCheck {
  /** The token is a valid RFC 3161 token over this signature, signed by a trusted TSA. */
  valid: boolean;
  /** The certified time (TSTInfo genTime), when it could be read. */
  time?: Date;
  /** Subject of the TSA certificate. */
  tsa?: string;
  problems: string[];
}

/**
 * Checks a time-stamp token against the Digital Signature value it certifies: the imprint is the
 * hash of that value, the CMS signature over the signed attributes is correct, the signed message
 * digest is that of the TSTInfo, and the TSA certificate is valid at the certified time, allowed
 * to time-stamp (extended key usage timeStamping) and issued by one of `trusted` (or is one),
 * directly or through CA certificates the token carries (chainToTrusted).
 */
export function verifyTimestamp(token: Uint8Array, signature: Uint8Array, trusted: readonly X509Certificate[]): TimestampCheck {
  try {
    return check(token, signature, trusted);
  } catch (e) {
    // A malformed token (damaged certificate, bad encoding) is a finding, never a crash.
    return { valid: false, problems: [`unreadable: ${(e as Error).message}`] };
  }
}

function check(token: Uint8Array, signature: Uint8Array, trusted: readonly X509Certificate[]): TimestampCheck {
  const out: TimestampCheck = { valid: false, problems: [] };
  let sd: pkijs.SignedData;
  let info: pkijs.TSTInfo;
  try {
    sd = signedData(token);
    info = tstInfo(token);
  } catch (e) {
    out.problems.push((e as Error).message);
    return out;
  }
  out.time = info.genTime;
  const imprintHash = HASHES[info.messageImprint.hashAlgorithm.algorithmId];
  if (!imprintHash) out.problems.push(`imprint hash ${info.messageImprint.hashAlgorithm.algorithmId} not supported`);
  else if (!same(u8(info.messageImprint.hashedMessage.valueBlock.valueHexView), new Uint8Array(createHash(imprintHash).update(signature).digest()))) {
    out.problems.push('it certifies another signature value (imprint does not match)');
  }
  const si = sd.signerInfos[0];
  if (sd.signerInfos.length !== 1 || !si) {
    out.problems.push(`${sd.signerInfos.length} signer infos, expected 1`);
    return out;
  }
  // The TSA's certificate: the one in the token whose issuer and serial the signer info names.
  const sid = si.sid instanceof pkijs.IssuerAndSerialNumber ? si.sid : null;
  const certs = (sd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
  const tsaPkijs = sid ? certs.find((c) => c.serialNumber.isEqual(sid.serialNumber) && c.issuer.isEqual(sid.issuer)) : undefined;
  if (!tsaPkijs) {
    out.problems.push('the TSA certificate is not in the token (request it with certReq)');
    return out;
  }
  const tsaCert = new X509Certificate(Buffer.from(tsaPkijs.toSchema().toBER(false)));
  out.tsa = tsaCert.subject.replace(/\n/g, ', ');
  // Signed attributes: content type TSTInfo, and the digest of the TSTInfo.
  const digestName = HASHES[si.digestAlgorithm.algorithmId];
  const attrs = si.signedAttrs?.attributes ?? [];
  const attr = (oid: string) => attrs.find((a) => a.type === oid)?.values[0];
  const eContent = sd.encapContentInfo.eContent;
  if (!digestName) out.problems.push(`digest algorithm ${si.digestAlgorithm.algorithmId} not supported`);
  else if (!si.signedAttrs || !eContent) out.problems.push('no signed attributes');
  else {
    const md = attr(OID.messageDigest) as asn1js.OctetString | undefined;
    const ct = attr(OID.contentType) as asn1js.ObjectIdentifier | undefined;
    if (!ct || ct.valueBlock.toString() !== OID.tstInfo) out.problems.push('signed content type is not TSTInfo');
    if (!md || !same(u8(md.valueBlock.valueHexView), new Uint8Array(createHash(digestName).update(u8(eContent.getValue())).digest()))) {
      out.problems.push('signed message digest does not match the TSTInfo (token altered)');
    }
    // The signature covers the signed attributes as received, re-tagged as a SET (RFC 5652 §5.4).
    const signed = new Uint8Array(si.signedAttrs.encodedValue);
    signed[0] = 0x31;
    let ok = false;
    try {
      ok = createVerify(digestName).update(signed).verify({ key: tsaCert.publicKey, dsaEncoding: 'der' }, u8(si.signature.valueBlock.valueHexView));
    } catch {
      ok = false;
    }
    if (!ok) out.problems.push('the TSA signature does not verify');
  }
  // The TSA certificate: allowed to time-stamp, valid then, and from a trusted issuer.
  const eku = tsaPkijs.extensions?.find((e) => e.extnID === '2.5.29.37')?.parsedValue as pkijs.ExtKeyUsage | undefined;
  if (!eku || !eku.keyPurposes.includes(OID.timeStamping)) out.problems.push('the TSA certificate is not for time-stamping (no timeStamping extended key usage)');
  const at = info.genTime.getTime();
  if (at < Date.parse(tsaCert.validFrom) || at > Date.parse(tsaCert.validTo)) out.problems.push('the TSA certificate was not valid at the certified time');
  const chain = chainToTrusted(tsaCert, carriedCas(certs.filter((c) => c !== tsaPkijs)), trusted, at);
  if (!chain) out.problems.push(`the TSA (${out.tsa}) is not trusted`);
  else {
    const broken = chainProblemOf(chain);
    if (broken) out.problems.push(`the TSA (${out.tsa}) cannot be relied on: ${broken}`);
  }
  out.valid = out.problems.length === 0;
  return out;
}

/** CA certificates a token may carry between its TSA certificate and a trusted one (a commercial TSA's issuing CAs). */
const MAX_CARRIED_CAS = 3;
/**
 * Carried certificates looked at: a TSA sends its few issuing CAs; more would only let a token make
 * the path search try every ordering of them (each step a signature check).
 */
const MAX_CARRIED_CERTIFICATES = 8;

/** The CA certificates among those a token carries besides the TSA's (at most MAX_CARRIED_CERTIFICATES); one OpenSSL cannot read is passed over. */
function carriedCas(certs: readonly pkijs.Certificate[]): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const c of certs.slice(0, MAX_CARRIED_CERTIFICATES)) {
    try {
      const x = new X509Certificate(Buffer.from(c.toSchema().toBER(false)));
      if (x.ca) out.push(x);
    } catch {
      // Not a certificate OpenSSL reads: no link through it.
    }
  }
  return out;
}

/**
 * The TSA certificate's path to the trust set: [TSA certificate, CAs the token carries..., trusted
 * certificate], or [TSA certificate] when it is itself pinned there; undefined when there is none.
 * Every issuer on the path must be a CA (basicConstraints cA) that OpenSSL takes as the issuer
 * (names, key identifiers, keyCertSign when key usage is given) and whose key verifies the
 * certificate below it; a carried CA must also be valid at the certified time `at`. A pinned
 * signer certificate (a device's) is no issuer: it would let the holder of that one key certify
 * any time, before its own compromise too. The CAs a token carries are anyone's to put there:
 * they count only as links to a certificate of the trust set, never as trust themselves.
 */
function chainToTrusted(leaf: X509Certificate, carried: readonly X509Certificate[], trusted: readonly X509Certificate[], at: number): X509Certificate[] | undefined {
  if (trusted.some((t) => t.fingerprint256 === leaf.fingerprint256)) return [leaf];
  const issues = (child: X509Certificate, ca: X509Certificate) => {
    try {
      return ca.ca && child.checkIssued(ca) && child.verify(ca.publicKey);
    } catch {
      return false;
    }
  };
  const walk = (path: X509Certificate[]): X509Certificate[] | undefined => {
    const last = path[path.length - 1]!;
    const anchor = trusted.find((t) => issues(last, t));
    if (anchor) return [...path, anchor];
    if (path.length > MAX_CARRIED_CAS) return undefined;
    for (const ca of carried) {
      if (path.some((p) => p.fingerprint256 === ca.fingerprint256)) continue;
      if (at < Date.parse(ca.validFrom) || at > Date.parse(ca.validTo) || !issues(last, ca)) continue;
      const found = walk([...path, ca]);
      if (found) return found;
    }
    return undefined;
  };
  return walk([leaf]);
}

/**
 * Why a path from chainToTrusted cannot be relied on, by the rules that judge signers' chains
 * (chainProblem: no critical extension radseal does not process, no name-constrained CA, no
 * forgeable issuer signature) applied to every link, and each CA's path length constraint.
 */
function chainProblemOf(path: readonly X509Certificate[]): string | undefined {
  if (path.length === 1) return chainProblem(parseCertificate(path[0]!.raw), undefined);
  for (let i = 0; i + 1 < path.length; i++) {
    const broken = chainProblem(parseCertificate(path[i]!.raw), parseCertificate(path[i + 1]!.raw));
    if (broken) return broken;
  }
  // path[k] (k >= 1) is a CA with k - 1 CAs below it before the TSA certificate.
  for (let k = 2; k < path.length; k++) {
    const limit = pathLenConstraint(path[k]!);
    if (limit !== undefined && k - 1 > limit) return `CA certificate ${path[k]!.subject.replace(/\n/g, ', ')} allows ${limit} CA(s) below it (pathLenConstraint), the TSA's path has ${k - 1}`;
  }
  return undefined;
}

/** The basicConstraints pathLenConstraint of a certificate, when it has one. */
function pathLenConstraint(cert: X509Certificate): number | undefined {
  const parsed = pkijs.Certificate.fromBER(ab(new Uint8Array(cert.raw)));
  const bc = parsed.extensions?.find((e) => e.extnID === '2.5.29.19')?.parsedValue as pkijs.BasicConstraints | undefined;
  const n = bc?.pathLenConstraint;
  return typeof n === 'number' ? n : n === undefined ? undefined : Number(n.valueBlock.valueDec);
}
