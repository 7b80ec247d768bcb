// The PACS signer's key and certificate, loaded the way every radseal key is (0600 PKCS#8,
// optionally PIN-encrypted, refused when group or others can read it; or a key on a PKCS#11
// token, as `pki issue-pacs --pkcs11-module` makes it) and checked to belong together. A certificate with another radseal profile (device, technologist, site CA) is refused:
// a PACS countersigns corrections, it never signs as the capturing device or its operator.
import { type CertInfo, decideTrust, parseCertificate } from '../keys/certs.js';
import type { SignatureCheck } from '../dicom/signatures.js';
import { KeyFileError, loadSignerFile } from '../keys/filestore.js';
import { readCertificateDer } from '../keys/provision.js';
import { profileOf } from '../keys/pki/profiles.js';
import { isPkcs11Uri, openPkcs11Signer, parsePkcs11Uri } from '../keys/pkcs11.js';
import type { Signer } from '../keys/ed25519.js';

export interface PacsSigner {
  signer: Signer;
  certificateDer: Uint8Array;
  /** Certificate subject CN, e.g. PACS-1. */
  commonName: string;
  /** Ends the token session when the key is on a PKCS#11 token. */
  close?: () => void;
}

/** `key` is a PKCS#8 file or an RFC 7512 pkcs11: URI (then `pin` is the token PIN). */
export function loadPacsSigner(key: string, certPath: string, pin?: string): PacsSigner {
  const certificateDer = readCertificateDer(certPath);
  const cert = parseCertificate(certificateDer);
  const other = otherRole(cert);
  if (other) throw new KeyFileError(`certificate ${certPath} (${cert.commonName}) has the radseal ${other} profile; corrections are signed with a PACS signer certificate`);
  if (isPkcs11Uri(key) && pin === undefined) throw new KeyFileError('a key on a PKCS#11 token needs its PIN');
  const signer = isPkcs11Uri(key) ? openPkcs11Signer(parsePkcs11Uri(key), pin!) : loadSignerFile(key, pin);
  const close = 'close' in signer && typeof signer.close === 'function' ? () => (signer as { close(): void }).close() : undefined;
  const certKey = cert.ed25519PublicKey ?? new Uint8Array(cert.x509.publicKey.export({ format: 'der', type: 'spki' }).subarray(-65));
  if (Buffer.compare(Buffer.from(certKey), Buffer.from(signer.publicKey)) !== 0) {
    close?.();
    throw new KeyFileError(`the key ${isPkcs11Uri(key) ? 'on the token' : `in ${key}`} does not belong to the certificate ${certPath} (${cert.commonName})`);
  }
  return { signer, certificateDer, commonName: cert.commonName, close };
}

/** The radseal role a certificate is made for when that role is not the PACS's, else null. */
function otherRole(cert: CertInfo): string | null {
  const kind = profileOf(cert).kind;
  return kind === 'device' || kind === 'technologist' || kind === 'site-ca' ? kind : null;
}

/**
 * For ReconcileOptions.trustHistorySigner: an earlier correction may be extended when its
 * signer is trusted by this bundle (in it, or issued by a CA in it, at its signing time) and
 * its certificate is made for no other radseal role.
 */
export function historySignersTrustedBy(trust: CertInfo[]): (check: SignatureCheck) => string | null {
  return (check) => {
    const cert = check.certificate;
    if (!cert) return 'no readable certificate';
    const other = otherRole(cert);
    if (other) return `certificate of ${cert.commonName} has the radseal ${other} profile`;
    const decision = decideTrust(cert, trust, check.time ?? new Date());
    return decision.trusted ? null : decision.reason;
  };
}
