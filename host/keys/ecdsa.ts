// ECDSA P-256 (FIPS 186-5) through @noble/curves: the second, interoperable
// signature that DCMTK dcmsign can verify (DESIGN §3). Keys are stored as
// PKCS#8 PEM like the Ed25519 ones; node:crypto only converts the encoding. The curve library is
// loaded when a P-256 key is first used, not by everything that imports the OIDs or the type guard.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { Signer } from './ed25519.js';
import { loadOnUse } from '../io/load-on-use.js';

const curves = loadOnUse<typeof import('@noble/curves/nist.js')>(import.meta.url, '@noble/curves/nist.js');

export const EC_PUBLIC_KEY_OID = '1.2.840.10045.2.1';
export const P256_OID = '1.2.840.10045.3.1.7';
export const ECDSA_WITH_SHA256_OID = '1.2.840.10045.4.3.2';

/** A P-256 key that signs certificates (SHA-256 of the message) and DICOM MAC digests (as given). */
export interface EcdsaSigner extends Signer {
  readonly algorithm: 'ECDSA-P256';
  /** Uncompressed SEC1 point, 65 bytes. */
  readonly publicKey: Uint8Array;
  /** DER ECDSA-Sig-Value over SHA-256(message): what X.509 ecdsa-with-SHA256 expects. */
  sign(message: Uint8Array): Promise<Uint8Array>;
  /** DER ECDSA-Sig-Value over a digest computed elsewhere (the DICOM MAC digest), as OpenSSL's ECDSA_sign does. */
  signDigest(digest: Uint8Array): Promise<Uint8Array>;
}

export function isEcdsaSigner(s: Signer): s is EcdsaSigner {
  return (s as Partial<EcdsaSigner>).algorithm === 'ECDSA-P256';
}

export function newP256SecretKey(): Uint8Array {
  return curves().p256.utils.randomSecretKey();
}

export function p256Signer(secretKey: Uint8Array): EcdsaSigner {
  const { p256 } = curves();
  const publicKey = p256.getPublicKey(secretKey, false);
  return {
    algorithm: 'ECDSA-P256',
    publicKey,
    sign: async (m) => p256.sign(m, secretKey, { prehash: true, format: 'der' }),
    signDigest: async (d) => p256.sign(d, secretKey, { prehash: false, format: 'der', extraEntropy: true }),
  };
}

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/** PKCS#8 DER of a P-256 secret key (through a JWK, so no hand-written ASN.1). */
export function p256Pkcs8(secretKey: Uint8Array): Uint8Array {
  const pub = curves().p256.getPublicKey(secretKey, false);
  const jwk = { kty: 'EC', crv: 'P-256', d: b64u(secretKey), x: b64u(pub.subarray(1, 33)), y: b64u(pub.subarray(33, 65)) };
  return new Uint8Array(createPrivateKey({ key: jwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'der' }));
}

/** The 32-byte P-256 secret from PKCS#8 DER or PEM; throws for any other key. */
export function p256SecretFromPkcs8(pkcs8: Uint8Array | string): Uint8Array {
  const key = typeof pkcs8 === 'string' ? createPrivateKey(pkcs8) : createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  const jwk = key.export({ format: 'jwk' });
  if (key.asymmetricKeyType !== 'ec' || jwk.crv !== 'P-256' || !jwk.d) throw new Error('not an ECDSA P-256 private key');
  return new Uint8Array(Buffer.from(jwk.d, 'base64url'));
}

/** Uncompressed point of a P-256 public key given as SPKI DER. */
export function p256PointFromSpki(spki: Uint8Array): Uint8Array {
  const jwk = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  if (jwk.crv !== 'P-256') throw new Error('not a P-256 public key');
  return new Uint8Array([4, ...Buffer.from(jwk.x!, 'base64url'), ...Buffer.from(jwk.y!, 'base64url')]);
}
