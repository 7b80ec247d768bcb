// Temporary device provisioning: a self-signed Ed25519 device certificate.
// (The site PKI with a CA, technologists and revocation replaces this.)
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newSeed, seedSigner } from './ed25519.js';
import { issueCertificate } from './x509.js';
import { toPem, fromPemAll } from './pem.js';
import { writeEd25519KeyFile, loadFileSigner, KeyFileError } from './filestore.js';
import type { Signer } from './ed25519.js';

export interface DeviceKeyPaths {
  key: string;
  cert: string;
}

export async function generateDeviceKey(deviceId: string, outDir: string): Promise<DeviceKeyPaths> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(deviceId)) throw new KeyFileError(`device id "${deviceId}" must be 1-64 letters, digits, '.', '_' or '-'`);
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const paths = { key: join(outDir, 'device.key'), cert: join(outDir, 'device.crt') };
  const seed = newSeed();
  const signer = seedSigner(seed);
  const der = await issueCertificate({ subject: { commonName: deviceId, organization: 'radseal device' }, subjectPublicKey: signer.publicKey, issuerSigner: signer });
  writeEd25519KeyFile(paths.key, seed);
  writeFileSync(paths.cert, toPem('CERTIFICATE', der), { mode: 0o644 });
  return paths;
}

export function readCertificateDer(path: string): Uint8Array {
  const bytes = readFileSync(path);
  const text = bytes.toString('latin1');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) return new Uint8Array(bytes);
  const [der] = fromPemAll(text, 'CERTIFICATE');
  if (!der) throw new KeyFileError(`${path} holds no PEM certificate`);
  return der;
}

export function loadDeviceSigner(keyPath: string): Signer {
  return loadFileSigner(keyPath);
}
