// Ed25519 (RFC 8032, pure) through @noble/ed25519, with its synchronous
// SHA-512 wired to @noble/hashes as that library asks. Both load when a key is first used:
// many modules import the Signer type or the OID and never sign.
import { createPrivateKey, createPublicKey, sign as cryptoSign } from 'node:crypto';
import { loadOnUse } from '../io/load-on-use.js';
import { ed25519Pkcs8 } from './pem.js';

const noble = loadOnUse<typeof import('@noble/ed25519')>(import.meta.url, '@noble/ed25519');
const hashes = loadOnUse<typeof import('@noble/hashes/sha2.js')>(import.meta.url, '@noble/hashes/sha2.js');
let wired: typeof import('@noble/ed25519') | undefined;

function edLib(): typeof import('@noble/ed25519') {
  if (!wired) {
    const ed = noble();
    ed.hashes.sha512 = hashes().sha512;
    wired = ed;
  }
  return wired;
}

export const ED25519_OID = '1.3.101.112';

export function publicKeyOf(seed: Uint8Array): Uint8Array {
  return edLib().getPublicKey(seed);
}

export function signEd25519(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return edLib().sign(message, seed);
}

/** False for any malformed input instead of throwing: a bad signature is an answer, not an error. */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return edLib().verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

export function newSeed(): Uint8Array {
  return edLib().utils.randomSecretKey();
}

/** Something that signs with an Ed25519 key it may never reveal (a file key, a PKCS#11 token). */
export interface Signer {
  /** Absent means Ed25519 (every signer before ECDSA existed); see keys/ecdsa.ts. */
  readonly algorithm?: 'Ed25519' | 'ECDSA-P256';
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/**
 * A signer for a key held as its seed. It signs through node:crypto (OpenSSL): the same RFC 8032
 * signatures as @noble/ed25519, without loading and warming a JavaScript curve library in every
 * process that seals (a one-frame `radseal seal` spent ~40 ms there).
 */
export function seedSigner(seed: Uint8Array): Signer {
  if (seed.length !== 32) throw new RangeError(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
  const key = createPrivateKey({ key: Buffer.from(ed25519Pkcs8(seed)), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32));
  return { publicKey, sign: async (m) => new Uint8Array(cryptoSign(null, m, key)) };
}
