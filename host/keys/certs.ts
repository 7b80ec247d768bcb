// Reading certificates and deciding trust, on node:crypto's X509Certificate
// (OpenSSL underneath): parsing, issuer signature checks, validity.
import { X509Certificate } from 'node:crypto';
import { fromPemAll } from './pem.js';

export interface CertInfo {
  der: Uint8Array;
  subject: string;
  commonName: string;
  issuer: string;
  fingerprint256: string;
  notBefore: Date;
  notAfter: Date;
  keyType: string;
  /** Raw public key for Ed25519 (32 bytes); undefined for other key types. */
  ed25519PublicKey?: Uint8Array;
  x509: X509Certificate;
}

export function parseCertificate(der: Uint8Array): CertInfo {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch {
    throw new Error('not a DER X.509 certificate');
  }
  const key = x509.publicKey;
  const keyType = key.asymmetricKeyType ?? 'unknown';
  let ed25519PublicKey: Uint8Array | undefined;
  if (keyType === 'ed25519') {
    const jwk = key.export({ format: 'jwk' });
    ed25519PublicKey = new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x509.subject)?.[1] ?? x509.subject;
  return {
    der, subject: x509.subject.replace(/\n/g, ', '), commonName: cn, issuer: x509.issuer.replace(/\n/g, ', '),
    fingerprint256: x509.fingerprint256, notBefore: new Date(x509.validFrom), notAfter: new Date(x509.validTo),
    keyType, ed25519PublicKey, x509,
  };
}

/** Certificates from PEM text (one or many) or a single DER blob. */
export function parseCertificates(bytes: Uint8Array): CertInfo[] {
  const text = Buffer.from(bytes).toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) return fromPemAll(text, 'CERTIFICATE').map(parseCertificate);
  return [parseCertificate(bytes)];
}

export interface TrustDecision {
  trusted: boolean;
  reason: string;
  anchor?: CertInfo;
}

/**
 * A signer is trusted when its certificate is itself in the trust set, or was
 * issued by a CA in the trust set (issuer signature checked), and `when` lies
 * within the certificate's validity.
 */
export function decideTrust(signer: CertInfo, trustSet: CertInfo[], when: Date): TrustDecision {
  if (when < signer.notBefore || when > signer.notAfter) {
    return { trusted: false, reason: `certificate of ${signer.commonName} not valid at ${when.toISOString()}` };
  }
  const same = trustSet.find((t) => t.fingerprint256 === signer.fingerprint256);
  if (same) return { trusted: true, reason: 'signer certificate is in the trust set', anchor: same };
  for (const ca of trustSet) {
    if (!ca.x509.ca) continue;
    if (signer.x509.checkIssued(ca.x509) && signer.x509.verify(ca.x509.publicKey)) {
      return { trusted: true, reason: `issued by trusted CA ${ca.commonName}`, anchor: ca };
    }
  }
  return { trusted: false, reason: `signer ${signer.commonName} (${signer.fingerprint256}) is not in the trust set nor issued by a CA in it` };
}
