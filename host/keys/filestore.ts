// Key files on disk: PKCS#8 PEM, created 0600, refused when others can read them.
import { openSync, writeSync, fsyncSync, closeSync, statSync, readFileSync, existsSync } from 'node:fs';
import { ed25519Pkcs8, seedFromPkcs8, fromPemAll, toPem } from './pem.js';
import { seedSigner, type Signer } from './ed25519.js';

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

/** Reads a secret file, refusing it when group or others have any access. */
export function readSecretFile(path: string): Buffer {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new KeyFileError(`cannot read key file ${path}: no such file`);
  }
  if (mode & 0o077) {
    throw new KeyFileError(`key file ${path} is accessible by others (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
  }
  return readFileSync(path);
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
