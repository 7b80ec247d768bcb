// The site watermark key: 32 random bytes in a 0600 file, shared by the
// site's devices (to embed) and its PACS ingest (to detect).
import { randomBytes, createHash } from 'node:crypto';
import { readSecretFile, writeSecretFile, KeyFileError } from './filestore.js';

export const WATERMARK_KEY_BYTES = 32;

export function generateWatermarkKey(path: string): void {
  writeSecretFile(path, randomBytes(WATERMARK_KEY_BYTES));
}

export function loadWatermarkKey(path: string): Uint8Array {
  const key = readSecretFile(path);
  if (key.length !== WATERMARK_KEY_BYTES) throw new KeyFileError(`${path} must hold exactly ${WATERMARK_KEY_BYTES} bytes (got ${key.length})`);
  return new Uint8Array(key);
}

/** A public name for a key (8 bytes of a domain-separated hash): recorded in objects, safe to log. */
export function watermarkKeyId(key: Uint8Array): string {
  return createHash('sha256').update('radseal watermark key id\0').update(key).digest('hex').slice(0, 16);
}
