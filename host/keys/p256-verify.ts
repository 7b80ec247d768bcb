// ECDSA P-256 verification of a digest computed elsewhere (the DICOM MAC digest, signed as the
// hash value, as OpenSSL's ECDSA_verify takes it), with OpenSSL's curve arithmetic through
// node:crypto. node:crypto has no ECDSA verify of a prehashed digest (crypto.verify and WebCrypto
// always hash the message themselves), but its ECDH does the two scalar multiplications ECDSA
// needs, so nothing here is curve arithmetic but one point addition. Loading and warming a
// JavaScript curve library cost ~50 ms per process and ~5 ms per check; this costs ~0.5 ms.
//
// ECDSA (FIPS 186-5 §6.4.2, SEC 1 §4.1.4): with w = s⁻¹, u1 = e·w, u2 = r·w (mod n), accept iff
// R = u1·G + u2·Q is not the identity and R.x ≡ r (mod n). ECDH gives x-coordinates only, so
// R is taken as u2·(Q + t·G) with t = e·r⁻¹ (mod n), which is the same point
// (u2·t = r·w·e·r⁻¹ = e·w = u1): t·G comes whole from the key-pair derivation, Q + t·G is one
// affine addition here, and ECDH of u2 with that point gives R.x, exactly.
import { createECDH, type KeyObject } from 'node:crypto';

/** The field prime, the group order and the curve constant b of P-256 (FIPS 186-5 / SEC 2). */
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

/** a⁻¹ mod m (m prime, a not a multiple of m), by the extended Euclidean algorithm. */
function invert(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return mod(s0, m);
}

const toBigInt = (b: Uint8Array): bigint => (b.length ? BigInt(`0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`) : 0n);
const to32 = (x: bigint): Buffer => Buffer.from(x.toString(16).padStart(64, '0'), 'hex');

/**
 * r and s of a DER ECDSA-Sig-Value, null unless it is strict DER (as OpenSSL's ECDSA_verify
 * requires: short-form lengths, minimal positive INTEGERs, nothing after the SEQUENCE).
 */
export function derSignatureValues(der: Uint8Array): [bigint, bigint] | null {
  if (der.length < 8 || der.length > 72 || der[0] !== 0x30 || der[1] !== der.length - 2) return null;
  let o = 2;
  const out: bigint[] = [];
  for (let k = 0; k < 2; k++) {
    if (der[o] !== 0x02) return null;
    const len = der[o + 1]!;
    o += 2;
    if (len < 1 || len > 33 || o + len > der.length) return null;
    if (der[o]! & 0x80) return null; // negative
    if (der[o] === 0 && (len === 1 || !(der[o + 1]! & 0x80))) return null; // zero, or a leading zero not needed
    out.push(toBigInt(der.subarray(o, o + len)));
    o += len;
  }
  return o === der.length ? [out[0]!, out[1]!] : null;
}

/** The uncompressed point of a P-256 public key, or null for any other key. */
function p256Point(key: KeyObject): { x: bigint; y: bigint } | null {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return null;
  const jwk = key.export({ format: 'jwk' });
  return { x: toBigInt(Buffer.from(jwk.x!, 'base64url')), y: toBigInt(Buffer.from(jwk.y!, 'base64url')) };
}

/**
 * Whether `der` (a DER ECDSA-Sig-Value) is a valid ECDSA signature by the P-256 `publicKey` over
 * `digest` as the hash value (a digest longer than 256 bits is cut to its leftmost 256, as OpenSSL
 * and dcmsign do). Either half of s is accepted, as OpenSSL does. False, never an exception, for
 * anything malformed.
 */
export function verifyP256Digest(der: Uint8Array, digest: Uint8Array, publicKey: KeyObject): boolean {
  try {
    const rs = derSignatureValues(der);
    const q = p256Point(publicKey);
    if (!rs || !q) return false;
    const [r, s] = rs;
    if (r >= N || s >= N || r === 0n || s === 0n) return false;
    const e = mod(toBigInt(digest.subarray(0, 32)), N);
    const u2 = mod(r * invert(s, N), N);
    const t = mod(e * invert(r, N), N);
    const ecdh = createECDH('prime256v1');
    // S = Q + t·G (t = 0 when e ≡ 0: then S = Q).
    let sx = q.x;
    let sy = q.y;
    if (t !== 0n) {
      ecdh.setPrivateKey(to32(t));
      const tg = ecdh.getPublicKey();
      const tx = toBigInt(tg.subarray(1, 33));
      const ty = toBigInt(tg.subarray(33, 65));
      let slope: bigint;
      if (tx === q.x) {
        if (ty !== q.y) return false; // t·G = −Q: S, and so R, is the identity
        slope = mod(3n * (tx * tx - 1n) * invert(2n * ty, P), P); // doubling (a = −3)
      } else {
        slope = mod((q.y - ty) * invert(q.x - tx, P), P);
      }
      sx = mod(slope * slope - tx - q.x, P);
      sy = mod(slope * (tx - sx) - ty, P);
    }
    ecdh.setPrivateKey(to32(u2));
    const rx = toBigInt(ecdh.computeSecret(Buffer.concat([Buffer.of(4), to32(sx), to32(sy)])));
    return mod(rx, N) === r;
  } catch {
    return false;
  }
}
