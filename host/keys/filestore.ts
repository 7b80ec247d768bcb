// Key files on disk: PKCS#8 PEM, created 0600, refused when others can read them.
import { openSync, writeSync, fsyncSync, closeSync, fstatSync, readFileSync, existsSync } from 'node:fs';
import { ed25519Pkcs8, seedFromPkcs8, fromPemAll, toPem } from './pem.js';
import { seedSigner, type Signer } from './ed25519.js';
import { createPrivateKey } from 'node:crypto';
import { p256SecretFromPkcs8, p256Signer } from './ecdsa.js';

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

/** Writes a new file with mode 0600; never overwrites an existing key. */
export function writeSecretFile(path: string, content: string | Uint8Array): void {
  if (existsSync(path)) throw new KeyFileError(`${path} already exists; refusing to overwrite a key`);
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a secret file, refusing it when group or others have any access or it
 * is not a regular file. The mode is checked on the open descriptor, so the
 * file cannot be swapped between the check and the read.
 */
export function readSecretFile(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeyFileError(`cannot read key file ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? 'I/O error'}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new KeyFileError(`key file ${path} is not a regular file`);
    const content = readFileSync(fd);
    // A certificate given where a key belongs is usually world-readable too: name the real mistake first.
    const text = content.toString('latin1');
    if (text.includes('-----BEGIN CERTIFICATE-----') && !text.includes('PRIVATE KEY-----')) {
      throw new KeyFileError(`${path} is a certificate, not a private key: give the key file (e.g. device.key) here, the certificate goes with --cert (--tls-cert)`);
    }
    if (st.mode & 0o077) {
      throw new KeyFileError(`key file ${path} is accessible by others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
    }
    return content;
  } finally {
    closeSync(fd);
  }
}

export function writeEd25519KeyFile(path: string, seed: Uint8Array): void {
  writeSecretFile(path, toPem('PRIVATE KEY', ed25519Pkcs8(seed)));
}

export function loadEd25519Seed(path: string): Uint8Array {
  const text = readSecretFile(path).toString('latin1');
  const [der] = fromPemAll(text, 'PRIVATE KEY');
  if (!der) throw new KeyFileError(`${path} holds no PEM "PRIVATE KEY" block`);
  try {
    return seedFromPkcs8(der);
  } catch (err) {
    throw new KeyFileError(`${path}: ${(err as Error).message}`);
  }
}

export function loadFileSigner(path: string): Signer {
  return seedSigner(loadEd25519Seed(path));
}

/**
 * Writes any PKCS#8 private key as PEM, 0600. With a PIN the key is stored as
 * an ENCRYPTED PRIVATE KEY (PKCS#8 PBES2: PBKDF2 + AES-256-CBC, OpenSSL's
 * defaults), so a copied file is useless without the PIN.
 */
export function writePkcs8KeyFile(path: string, pkcs8Der: Uint8Array, pin?: string): void {
  if (pin === undefined) {
    writeSecretFile(path, toPem('PRIVATE KEY', pkcs8Der));
    return;
  }
  if (pin.length < 4) throw new KeyFileError('a key PIN needs at least 4 characters');
  const key = createPrivateKey({ key: Buffer.from(pkcs8Der), format: 'der', type: 'pkcs8' });
  writeSecretFile(path, key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: pin }) as string);
}

/** A signer from a PKCS#8 key file (Ed25519 or P-256), plain or PIN-encrypted. */
export function loadSignerFile(path: string, pin?: string): Signer {
  const text = readSecretFile(path).toString('latin1');
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    if (pin === undefined) throw new KeyFileError(`${path} is PIN-protected; give the PIN`);
    let der: Buffer;
    try {
      der = createPrivateKey({ key: text, format: 'pem', passphrase: pin }).export({ type: 'pkcs8', format: 'der' });
    } catch {
      throw new KeyFileError(`${path}: wrong PIN or damaged key file`);
    }
    return signerFromPkcs8(new Uint8Array(der), path);
  }
  const [der] = fromPemAll(text, 'PRIVATE KEY');
  if (!der) throw new KeyFileError(`${path} holds no PEM "PRIVATE KEY" block`);
  return signerFromPkcs8(der, path);
}

function signerFromPkcs8(der: Uint8Array, path: string): Signer {
  try {
    return seedSigner(seedFromPkcs8(der));
  } catch {
    try {
      return p256Signer(p256SecretFromPkcs8(der));
    } catch {
      throw new KeyFileError(`${path}: neither an Ed25519 nor an ECDSA P-256 PKCS#8 key`);
    }
  }
}
