// Self-signed provisioning (`radseal keygen`), for sites without the site PKI:
// device and technologist keys with self-signed certificates that PACS pins in
// its trust file. Each certificate carries its role's extended key usage, as
// the site CA's do: verify lets a certificate sign only in the role it names.
import { deviceIdProblem, operatorIdProblem } from './ids.js';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newSeed, seedSigner } from './ed25519.js';
import { issueCertificate } from './x509.js';
import { toPem, fromPemAll } from './pem.js';
import { writeEd25519KeyFile, loadFileSigner, writePkcs8KeyFile, KeyFileError } from './filestore.js';
import { ed25519Pkcs8 } from './pem.js';
import { newP256SecretKey, p256Pkcs8, p256Signer } from './ecdsa.js';
import type { Signer } from './ed25519.js';
import { EKU_DEVICE, EKU_TECHNOLOGIST } from './pki/profiles.js';
import { makeDirs } from '../io/dirs.js';

export interface DeviceKeyPaths {
  key: string;
  cert: string;
}

export async function generateDeviceKey(deviceId: string, outDir: string): Promise<DeviceKeyPaths> {
  const problem = deviceIdProblem(deviceId);
  if (problem) throw new KeyFileError(problem);
  makeDirs(outDir, 0o700);
  const paths = { key: join(outDir, 'device.key'), cert: join(outDir, 'device.crt') };
  const seed = newSeed();
  const signer = seedSigner(seed);
  const der = await issueCertificate({ subject: { commonName: deviceId, organization: 'radseal device' }, subjectPublicKey: signer.publicKey, issuerSigner: signer, extendedKeyUsage: [EKU_DEVICE] });
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

/**
 * The device's optional second key: ECDSA P-256 with a self-signed
 * ecdsa-with-SHA256 certificate (same CN as the Ed25519 one), for the
 * signature item DCMTK dcmsign can verify (or "radseal pki issue-device --ecdsa").
 */
export async function generateEcdsaDeviceKey(deviceId: string, outDir: string): Promise<DeviceKeyPaths> {
  const problem = deviceIdProblem(deviceId);
  if (problem) throw new KeyFileError(problem);
  makeDirs(outDir, 0o700);
  const paths = { key: join(outDir, 'device-ecdsa.key'), cert: join(outDir, 'device-ecdsa.crt') };
  const secret = newP256SecretKey();
  const signer = p256Signer(secret);
  const der = await issueCertificate({ subject: { commonName: deviceId, organization: 'radseal device' }, subjectPublicKey: signer.publicKey, issuerSigner: signer, extendedKeyUsage: [EKU_DEVICE] });
  writePkcs8KeyFile(paths.key, p256Pkcs8(secret));
  writeFileSync(paths.cert, toPem('CERTIFICATE', der), { mode: 0o644 });
  return paths;
}

/**
 * A technologist's Ed25519 key and self-signed certificate, CN = the operator
 * identifier written into Operator Identification Sequence. With a PIN the key
 * file is encrypted (PKCS#8 PBES2); the site PKI can hold it on a token instead.
 */
export async function generateTechnologistKey(operatorId: string, outDir: string, pin?: string): Promise<DeviceKeyPaths> {
  const problem = operatorIdProblem(operatorId);
  if (problem) throw new KeyFileError(problem);
  makeDirs(outDir, 0o700);
  const paths = { key: join(outDir, `${operatorId}.key`), cert: join(outDir, `${operatorId}.crt`) };
  const seed = newSeed();
  const signer = seedSigner(seed);
  const der = await issueCertificate({ subject: { commonName: operatorId, organization: 'radseal technologist' }, subjectPublicKey: signer.publicKey, issuerSigner: signer, extendedKeyUsage: [EKU_TECHNOLOGIST] });
  writePkcs8KeyFile(paths.key, ed25519Pkcs8(seed), pin);
  writeFileSync(paths.cert, toPem('CERTIFICATE', der), { mode: 0o644 });
  return paths;
}
