// The PACS signer's key and certificate, loaded the way every radseal key is (0600 PKCS#8,
// optionally PIN-encrypted; refused when group or others can read it) and checked to belong
// together. A certificate with another radseal profile (device, technologist, site CA) is refused:
// a PACS countersigns corrections, it never signs as the capturing device or its operator.
import { parseCertificate } from '../keys/certs.js';
import { KeyFileError, loadSignerFile } from '../keys/filestore.js';
import { readCertificateDer } from '../keys/provision.js';
import { profileOf } from '../keys/pki/profiles.js';
import type { Signer } from '../keys/ed25519.js';

export interface PacsSigner {
  signer: Signer;
  certificateDer: Uint8Array;
  /** Certificate subject CN, e.g. PACS-1. */
  commonName: string;
}

export function loadPacsSigner(keyPath: string, certPath: string, pin?: string): PacsSigner {
  const signer = loadSignerFile(keyPath, pin);
  const certificateDer = readCertificateDer(certPath);
  const cert = parseCertificate(certificateDer);
  const certKey = cert.ed25519PublicKey ?? new Uint8Array(cert.x509.publicKey.export({ format: 'der', type: 'spki' }).subarray(-65));
  if (Buffer.compare(Buffer.from(certKey), Buffer.from(signer.publicKey)) !== 0) {
    throw new KeyFileError(`the key in ${keyPath} does not belong to the certificate ${certPath} (${cert.commonName})`);
  }
  const kind = profileOf(cert).kind;
  if (kind === 'device' || kind === 'technologist' || kind === 'site-ca') {
    throw new KeyFileError(`certificate ${certPath} (${cert.commonName}) has the radseal ${kind} profile; corrections are signed with a PACS signer certificate`);
  }
  return { signer, certificateDer, commonName: cert.commonName };
}
