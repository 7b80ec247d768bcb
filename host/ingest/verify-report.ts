// The one result type of verification, shared by the CLI, the gateway, the
// verify-service, the HTML report and the audit log.
import type { WatermarkReport } from './watermark-check.js';
import type { SigningRole } from '../keys/pki/profiles.js';

export type Verdict = 'authentic' | 'tampered' | 'unsigned' | 'untrusted' | 'invalid';

/**
 * Who a signature speaks for, from its purpose code (CID 7007): 14 Source = the device
 * ('device-attributes' when it leaves Pixel Data out and covers the tile table),
 * 1 Author = the technologist, 5 Verification / 13 Review = a PACS correction. The
 * certificate's profile decides whether its signer may sign in that role (keys/pki/profiles.ts).
 */
export type SignatureRole = SigningRole;

export interface SignatureReport {
  macId: number;
  role: SignatureRole;
  /** Algorithm from the certificate's key: "Ed25519", "ECDSA-P256", "RSA". */
  algorithm: string;
  /** Key size or curve: "Ed25519", "ECDSA-P256", "RSA-2048". */
  key: string;
  purpose: string;
  signer: string;
  /** The signature matches the data it says it signed. */
  valid: boolean;
  /** The signer is trusted in this role at the time the evidence supports. */
  trusted: boolean;
  /** Digital Signature DateTime: when the signer's own clock says it signed. */
  time: string | null;
  /** Certified Timestamp (RFC 3161) checked and valid: when a trusted TSA saw the signature. */
  certifiedTime?: string;
  /** Subject of the TSA certificate. */
  certifiedBy?: string;
  macAlgorithm: string | null;
  signedElements: number;
  /** Meets the verify policy (minimum signed set, MAC algorithm). */
  policyOk: boolean;
  /** Why the certificate is (or is not) trusted, in a sentence. */
  trustReason?: string;
  /** Revocation status from the trust bundle's CRL: not-revoked, revoked, not-checked, unavailable. */
  revocation?: string;
}

export interface TechnologistReport {
  operatorId: string | null;
  operatorsName: string | null;
  /** CN of the co-signing certificate, or null when nobody co-signed. */
  signer: string | null;
  /** Valid, trusted, meets policy and names the operator the object names. */
  accepted: boolean;
}

export interface TamperedTiles {
  /** Tile edge in pixels. */
  size: number;
  rows: number;
  cols: number;
  /** Changed tiles as [tileRow, tileCol]. */
  tiles: [number, number][];
  /** Whether the tile table itself is covered by a valid signature that leaves Pixel Data out. */
  tableAuthenticated: boolean;
}

/** One recorded correction of patient or study attributes (Original Attributes Sequence). */
export interface ReconciliationReport {
  time: string | null;
  modifyingSystem: string;
  reason: string;
  changes: Array<{ tag: string; before: string; after: string }>;
}

export interface VerifyReport {
  file: string;
  verdict: Verdict;
  reasons: string[];
  signatures: SignatureReport[];
  capture: {
    deviceId: string;
    rawSha256: string;
    /** Received from a modality by the sealing proxy (attestation format 2): from whom, and what the pixel hash covers. */
    received?: { source: string; callingAeTitle: string; peerAddress: string; pixels: string };
  } | null;
  technologist: TechnologistReport | null;
  /** SOP Class and Instance UID as the data set (the signed part) holds them; null when unreadable. */
  sopClassUid: string | null;
  sopInstanceUid: string | null;
  /** On the lossless path, the tiles whose pixels no longer match the signed tile table. */
  tamperedTiles?: TamperedTiles;
  /** Pixel Data matches the capture attestation's hash (null: no attestation or no pixels). */
  pixelsIntact?: boolean | null;
  /**
   * How pixelsIntact was decided: 'device-signature' when every signature holds and the trusted
   * device signature `macId` covers Pixel Data and the attestation's pixel hash (the hash and tile
   * table were not recomputed); 'pixel-hash' when they were (a signature failed or could not prove
   * the pixels, or the full check was asked for). Absent when there is no attestation to check.
   */
  pixelCheck?: { by: 'device-signature'; macId: number } | { by: 'pixel-hash' };
  /** The object was re-encoded after signing (Implicit VR, or private elements turned UN). */
  reencoded?: boolean;
  transferSyntax?: string;
  /** Corrections made at PACS after capture, oldest first, when they verify. */
  reconciled?: ReconciliationReport[];
  /** With a site watermark key: the mark's report (null when the pixels could not be read). */
  watermark?: WatermarkReport | null;
}

/**
 * Most reasons one report gives. A hostile object can hold hundreds of thousands of problems (a
 * MAC Parameters item or a duplicate per eight bytes): a report is read by people and kept in
 * audit logs, so past this it says how many more there were instead of listing them.
 */
export const MAX_REASONS = 200;

/** Appends reasons one by one (a spread of a long list as call arguments overflows the stack). */
export function addReasons(reasons: string[], more: readonly string[]): void {
  for (const r of more) reasons.push(r);
}

/** Longest reason a report gives: a reason may quote a value from the object, and a value may be 64 KB. */
export const MAX_REASON_CHARS = 1000;

/** The reasons as a report lists them: the first MAX_REASONS, each cut to about MAX_REASON_CHARS, then how many more. */
export function boundedReasons(reasons: string[]): string[] {
  // The middle goes: a reason names what it is about first and says what is wrong last.
  const cut = (r: string) => (r.length <= MAX_REASON_CHARS ? r
    : `${r.slice(0, MAX_REASON_CHARS - 300)} … (${r.length - MAX_REASON_CHARS} characters left out) … ${r.slice(-300)}`);
  if (reasons.length <= MAX_REASONS) return reasons.map(cut);
  return [...reasons.slice(0, MAX_REASONS - 1).map(cut), `and ${reasons.length - MAX_REASONS + 1} more reasons, not listed`];
}

// C0 and C1 controls, and the bidirectional marks and overrides ("Trojan Source").
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text taken from an object (device and operator ids, names, AE titles, the reasons quoting
 * them) as printable text: a control character becomes \xNN and a bidirectional override \u{NNNN},
 * so no object can move a terminal's cursor to overwrite its own verdict, or reorder what a reader
 * sees, wherever its report is shown.
 */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, (c) => {
    const n = c.codePointAt(0)!;
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
}

/** Every string of a report (at any depth) made printable, in place. */
export function makePrintable<T>(value: T): T {
  if (Array.isArray(value)) {
    value.forEach((v, i) => { value[i] = typeof v === 'string' ? printable(v) : makePrintable(v); });
  } else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const o = value as Record<string, unknown>;
    for (const [k, v] of Object.entries(o)) o[k] = typeof v === 'string' ? printable(v) : makePrintable(v);
  }
  return value;
}
