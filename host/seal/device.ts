// Loads a device identity from key and certificate files and checks they belong together.
import { loadDeviceSigner, readCertificateDer } from '../keys/provision.js';
import { parseCertificate } from '../keys/certs.js';
import { KeyFileError } from '../keys/filestore.js';
import type { DeviceIdentity, TechnologistIdentity } from './seal.js';
import { loadSignerFile } from '../keys/filestore.js';
import { isEcdsaSigner } from '../keys/ecdsa.js';
import type { Signer } from '../keys/ed25519.js';
import type { CertInfo } from '../keys/certs.js';
import { openPkcs11Signer, parsePkcs11Uri } from '../keys/pkcs11.js';

/** A technologist identity; close() ends a token session when the key is on a token. */
export type LoadedTechnologist = TechnologistIdentity & { close?: () => void };

/** "Doe^Jane" from a site-PKI technologist certificate's surname (SN) and given name (GN), when it has them. */
function personNameOf(cert: CertInfo): string | undefined {
  const field = (k: string) => new RegExp(`(?:^|\n)${k}=([^\n]*)`).exec(cert.x509.subject)?.[1];
  const sn = field('SN');
  const gn = field('GN');
  return sn ? (gn ? `${sn}^${gn}` : sn) : undefined;
}

function sameKey(cert: CertInfo, signer: Signer): boolean {
  const pub = cert.ed25519PublicKey ?? new Uint8Array(cert.x509.publicKey.export({ format: 'der', type: 'spki' }).subarray(-65));
  return Buffer.compare(Buffer.from(pub), Buffer.from(signer.publicKey)) === 0;
}

/** Adds the device's ECDSA P-256 key and certificate (the DCMTK-verifiable second signature). */
export function withEcdsa(device: DeviceIdentity, keyPath: string, certPath: string): DeviceIdentity {
  const signer = loadSignerFile(keyPath);
  if (!isEcdsaSigner(signer)) throw new KeyFileError(`${keyPath} is not an ECDSA P-256 key`);
  const certificateDer = readCertificateDer(certPath);
  const cert = parseCertificate(certificateDer);
  if (!sameKey(cert, signer)) throw new KeyFileError(`the key in ${keyPath} does not belong to the certificate ${certPath}`);
  if (cert.commonName !== device.deviceId) throw new KeyFileError(`ECDSA certificate ${certPath} names "${cert.commonName}", not device "${device.deviceId}"`);
  return { ...device, ecdsa: { signer, certificateDer } };
}

/** Loads a technologist's Ed25519 key (plain 0600 or PIN-encrypted PKCS#8) and certificate; the CN is the operator id. */
export function loadTechnologist(keyPath: string, certPath: string, pin?: string, operatorsName?: string): LoadedTechnologist {
  const signer = loadSignerFile(keyPath, pin);
  const certificateDer = readCertificateDer(certPath);
  const cert = parseCertificate(certificateDer);
  if (!cert.ed25519PublicKey) throw new KeyFileError(`${certPath} does not hold an Ed25519 key (found ${cert.keyType})`);
  if (!sameKey(cert, signer)) throw new KeyFileError(`the key in ${keyPath} does not belong to the certificate ${certPath} (${cert.commonName})`);
  return { operatorId: cert.commonName, operatorsName: operatorsName ?? personNameOf(cert), signer, certificateDer };
}

/**
 * A technologist whose Ed25519 key is on a PKCS#11 token, named by an RFC 7512
 * URI (token, object = key label, module-path); the PIN comes from the caller.
 * The session stays open until close().
 */
export function loadTokenTechnologist(uri: string, certPath: string, pin: string, operatorsName?: string): LoadedTechnologist {
  const certificateDer = readCertificateDer(certPath);
  const cert = parseCertificate(certificateDer);
  if (!cert.ed25519PublicKey) throw new KeyFileError(`${certPath} does not hold an Ed25519 key (found ${cert.keyType})`);
  const signer = openPkcs11Signer(parsePkcs11Uri(uri), pin);
  if (!sameKey(cert, signer)) {
    signer.close();
    throw new KeyFileError(`the token key does not belong to the certificate ${certPath} (${cert.commonName})`);
  }
  return { operatorId: cert.commonName, operatorsName: operatorsName ?? personNameOf(cert), signer, certificateDer, close: () => signer.close() };
}

/** A device identity; close() ends the token session when the device key is on a token. */
export type LoadedDevice = DeviceIdentity & { close?: () => void };

/**
 * A device whose Ed25519 key is on a PKCS#11 token, named by an RFC 7512 URI;
 * `defaults` supply the token label and module the URI leaves out (a board's
 * keys.slotLabel / keys.pkcs11Module). The token's public key must equal the
 * certificate's before the key is used. The session stays open until close().
 */
export function loadTokenDeviceIdentity(uri: string, certPath: string, pin: string, boardId = 'unspecified', defaults?: { module?: string; token?: string }): LoadedDevice {
  const ref = parsePkcs11Uri(uri, defaults);
  const certificateDer = readCertificateDer(certPath);
  const cert = parseCertificate(certificateDer);
  if (!cert.ed25519PublicKey) throw new KeyFileError(`${certPath} does not hold an Ed25519 key (found ${cert.keyType})`);
  const signer = openPkcs11Signer(ref, pin);
  if (!sameKey(cert, signer)) {
    signer.close();
    throw new KeyFileError(`key "${ref.keyLabel}" on token "${ref.token}" does not belong to the certificate ${certPath} (${cert.commonName})`);
  }
  return { deviceId: cert.commonName, boardId, signer, certificateDer, close: () => signer.close() };
}

export function loadDeviceIdentity(keyPath: string, certPath: string, boardId = 'unspecified'): DeviceIdentity {
  const signer = loadDeviceSigner(keyPath);
  const certificateDer = readCertificateDer(certPath);
  const cert = parseCertificate(certificateDer);
  if (!cert.ed25519PublicKey) throw new KeyFileError(`${certPath} does not hold an Ed25519 key (found ${cert.keyType})`);
  if (Buffer.compare(Buffer.from(cert.ed25519PublicKey), Buffer.from(signer.publicKey)) !== 0) {
    throw new KeyFileError(`the key in ${keyPath} does not belong to the certificate ${certPath} (${cert.commonName})`);
  }
  return { deviceId: cert.commonName, boardId, signer, certificateDer };
}
