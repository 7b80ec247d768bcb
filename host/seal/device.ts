// Loads a device identity from key and certificate files and checks they belong together.
import { loadDeviceSigner, readCertificateDer } from '../keys/provision.js';
import { parseCertificate } from '../keys/certs.js';
import { KeyFileError } from '../keys/filestore.js';
import type { DeviceIdentity, TechnologistIdentity } from './seal.js';
import { loadSignerFile } from '../keys/filestore.js';
import { isEcdsaSigner } from '../keys/ecdsa.js';
import type { Signer } from '../keys/ed25519.js';
import type { CertInfo } from '../keys/certs.js';

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
export function loadTechnologist(keyPath: string, certPath: string, pin?: string, operatorsName?: string): TechnologistIdentity {
  const signer = loadSignerFile(keyPath, pin);
  const certificateDer = readCertificateDer(certPath);
  const cert = parseCertificate(certificateDer);
  if (!cert.ed25519PublicKey) throw new KeyFileError(`${certPath} does not hold an Ed25519 key (found ${cert.keyType})`);
  if (!sameKey(cert, signer)) throw new KeyFileError(`the key in ${keyPath} does not belong to the certificate ${certPath} (${cert.commonName})`);
  return { operatorId: cert.commonName, operatorsName, signer, certificateDer };
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
