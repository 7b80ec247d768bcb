// Loads a device identity from key and certificate files and checks they belong together.
import { loadDeviceSigner, readCertificateDer } from '../keys/provision.js';
import { parseCertificate } from '../keys/certs.js';
import { KeyFileError } from '../keys/filestore.js';
import type { DeviceIdentity } from './seal.js';

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
