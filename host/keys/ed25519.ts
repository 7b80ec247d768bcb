// Ed25519 (RFC 8032, pure) through @noble/ed25519, with its synchronous
// SHA-512 wired to @noble/hashes as that library asks. Both load when a key is first used:
// many modules import the Signer type or the OID and never sign.
import { loadOnUse } from '../io/load-on-use.js';

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

export function seedSigner(seed: Uint8Array): Signer {
  const publicKey = publicKeyOf(seed);
  return { publicKey, sign: async (m) => signEd25519(m, seed) };
}
