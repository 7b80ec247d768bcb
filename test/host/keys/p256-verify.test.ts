// ECDSA P-256 over a digest computed elsewhere, checked with node:crypto's ECDH: every answer is
// compared with two independent verifiers, OpenSSL's own ECDSA (crypto.verify, which hashes the
// message itself) where the message is known, and @noble/curves (the verifier it replaces) on the
// digest: valid signatures, signatures by other keys, every single-bit change of the signature and
// of the digest's first 256 bits, high s, out-of-range and zero r and s, loose DER, and the two
// special points of the computation (t = 0, t·G = Q) made on purpose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createECDH, createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { derSignatureValues, verifyP256Digest } from '../../../host/keys/p256-verify.js';

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
const hex = (x: bigint) => x.toString(16).padStart(64, '0');
const big = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString('hex')}`);
const point = (key: KeyObject) => {
  const jwk = key.export({ format: 'jwk' });
  return new Uint8Array([4, ...Buffer.from(jwk.x!, 'base64url'), ...Buffer.from(jwk.y!, 'base64url')]);
};
const nobleSays = (der: Uint8Array, digest: Uint8Array, key: KeyObject) => {
  try {
    return p256.verify(der, digest, point(key), { prehash: false, lowS: false, format: 'der' });
  } catch {
    return false;
  }
};
/** Minimal DER of (r, s), as OpenSSL writes it. */
const der = (r: bigint, s: bigint) => {
  const int = (x: bigint) => {
    let b = Buffer.from(x.toString(16).padStart(2, '0').replace(/^(.(..)*)$/, '0$1'), 'hex');
    while (b.length > 1 && b[0] === 0 && !(b[1]! & 0x80)) b = b.subarray(1);
    if (b[0]! & 0x80) b = Buffer.concat([Buffer.of(0), b]);
    return Buffer.concat([Buffer.of(2, b.length), b]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return new Uint8Array(Buffer.concat([Buffer.of(0x30, body.length), body]));
};
const agree = (sig: Uint8Array, digest: Uint8Array, key: KeyObject, what: string) => {
  const ours = verifyP256Digest(sig, digest, key);
  assert.equal(ours, nobleSays(sig, digest, key), `${what}: @noble/curves disagrees`);
  return ours;
};

test('valid signatures verify, as OpenSSL and @noble/curves say, for SHA-512, SHA-256 and SHA-1 digests; another key\'s do not', () => {
  for (let k = 0; k < 12; k++) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    for (const alg of ['sha512', 'sha256', 'sha1']) {
      const message = Buffer.from(`object ${k} ${alg}`);
      const sig = sign(alg, message, privateKey);
      const digest = createHash(alg).update(message).digest();
      assert.ok(verify(alg, message, publicKey, sig), 'OpenSSL: valid');
      assert.equal(agree(sig, digest, publicKey, `${alg} valid`), true);
      assert.equal(agree(sig, digest, other, `${alg} other key`), false);
      // The same signature made the other way: s → n − s is valid too (OpenSSL accepts either half).
      const [r, s] = derSignatureValues(sig)!;
      const high = der(r, N - s);
      assert.ok(verify(alg, message, publicKey, high), 'OpenSSL accepts n − s');
      assert.equal(agree(high, digest, publicKey, `${alg} n − s`), true);
    }
  }
});

test('every one-bit change of the signature or of the digest\'s first 256 bits is refused; bits past 256 are not signed', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const message = Buffer.from('the MAC stream');
  const sig = new Uint8Array(sign('sha512', message, privateKey));
  const digest = new Uint8Array(createHash('sha512').update(message).digest());
  for (let bit = 0; bit < sig.length * 8; bit++) {
    const bad = sig.slice();
    bad[bit >> 3]! ^= 0x80 >> (bit & 7);
    assert.equal(agree(bad, digest, publicKey, `signature bit ${bit}`), false, `signature bit ${bit}`);
  }
  for (let bit = 0; bit < 256; bit++) {
    const bad = digest.slice();
    bad[bit >> 3]! ^= 0x80 >> (bit & 7);
    assert.equal(agree(sig, bad, publicKey, `digest bit ${bit}`), false, `digest bit ${bit}`);
  }
  const past = digest.slice();
  past[40]! ^= 1;
  assert.equal(agree(sig, past, publicKey, 'digest bit 320'), true, 'the leftmost 256 bits are what is signed (FIPS 186-5)');
});

test('r or s out of range, zero, or in loose DER: refused, never an exception', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const message = Buffer.from('x');
  const sig = sign('sha512', message, privateKey);
  const digest = createHash('sha512').update(message).digest();
  const [r, s] = derSignatureValues(sig)!;
  const cases: Array<[string, Uint8Array]> = [
    ['r = 0', der(0n, s)], ['s = 0', der(r, 0n)], ['r = n', der(N, s)], ['s = n', der(r, N)], ['r + n', der(r + N, s)], ['s + n', der(r, s + N)],
    ['trailing byte', new Uint8Array([...sig, 0])], ['cut short', sig.subarray(0, sig.length - 1)], ['empty', new Uint8Array(0)],
    ['SEQUENCE length one too long', Uint8Array.from(sig, (b, i) => (i === 1 ? b + 1 : b))],
    ['IEEE P1363 r‖s instead of DER', new Uint8Array(Buffer.from(hex(r) + hex(s), 'hex'))],
  ];
  // INTEGERs as BER allows and DER does not: a leading zero that is not needed, and a negative
  // one (top bit set, no zero byte before it). OpenSSL refuses both, so must we.
  const seq = (...ints: Buffer[]) => {
    const body = Buffer.concat(ints.map((b) => Buffer.concat([Buffer.of(2, b.length), b])));
    return new Uint8Array(Buffer.concat([Buffer.of(0x30, body.length), body]));
  };
  const minimal = (x: bigint) => Buffer.from(der(x, 1n).subarray(4, 4 + der(x, 1n)[3]!));
  cases.push(['r with a needless leading zero', seq(Buffer.concat([Buffer.of(0), minimal(r)]), minimal(s))]);
  cases.push(['s with a needless leading zero', seq(minimal(r), Buffer.concat([Buffer.of(0), minimal(s)]))]);
  // A valid signature whose r (then s) has its top bit set, written without the zero byte that
  // keeps the INTEGER positive: a reader that ignored the sign would read the valid value.
  for (const half of [0, 1]) {
    for (let tries = 0; tries < 64; tries++) {
      const candidate = sign('sha512', message, privateKey);
      const values = derSignatureValues(candidate)!;
      if (values[half]! < 1n << 255n) continue;
      const ints = values.map(minimal);
      ints[half] = ints[half]!.subarray(1);
      assert.ok(verifyP256Digest(candidate, digest, publicKey), 'the signature itself is valid');
      cases.push([`${half ? 's' : 'r'} negative (its zero byte left out)`, seq(...ints)]);
      break;
    }
  }
  for (const [what, bad] of cases) {
    assert.equal(verifyP256Digest(bad, digest, publicKey), false, what);
    assert.equal(nobleSays(bad, digest, publicKey), false, `${what} (@noble/curves)`);
  }
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
  assert.equal(verifyP256Digest(sig, digest, rsa), false, 'not a P-256 key');
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
  assert.equal(verifyP256Digest(sig, digest, p384), false, 'another curve');
});

test('the special points of the computation: a zero digest (t = 0) and t·G = Q, signed on purpose', () => {
  // Signatures made here from a known nonce k: r = x(k·G) mod n, s = k⁻¹·(e + r·d) mod n.
  const keys = createECDH('prime256v1');
  keys.generateKeys();
  const d = big(keys.getPrivateKey());
  const publicKey = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: keys.getPublicKey().subarray(1, 33).toString('base64url'), y: keys.getPublicKey().subarray(33, 65).toString('base64url') }, format: 'jwk' });
  const signWith = (e: bigint, k: bigint) => {
    const nonce = createECDH('prime256v1');
    nonce.setPrivateKey(Buffer.from(hex(k), 'hex'));
    const r = mod(big(nonce.getPublicKey().subarray(1, 33)), N);
    let kInv = 1n;
    for (let b = k, x = N - 2n; x; x >>= 1n, b = (b * b) % N) if (x & 1n) kInv = (kInv * b) % N; // Fermat: k^(n−2)
    return { r, sig: der(r, mod(kInv * (e + r * d), N)) };
  };
  const k = 0x1234567890abcdefn * 0xfedcba0987654321n;
  // e = 0: t = 0, S = Q.
  const zero = new Uint8Array(32);
  assert.equal(agree(signWith(0n, k).sig, zero, publicKey, 'zero digest'), true);
  assert.equal(agree(signWith(0n, k).sig, Uint8Array.of(...zero.subarray(0, 31), 1), publicKey, 'zero digest, changed'), false);
  // e = d·r: t = e·r⁻¹ = d, so t·G = Q and S = 2Q (the doubling).
  const { r } = signWith(0n, k);
  const e = mod(d * r, N);
  const digest = new Uint8Array(Buffer.from(hex(e), 'hex'));
  assert.equal(agree(signWith(e, k).sig, digest, publicKey, 't·G = Q'), true);
  const wrong = digest.slice();
  wrong[31]! ^= 1;
  assert.equal(agree(signWith(e, k).sig, wrong, publicKey, 't·G = Q, changed'), false);
  // e = −d·r: t·G = −Q, so R is the identity whatever s is: never valid.
  const opposite = new Uint8Array(Buffer.from(hex(mod(-d * r, N)), 'hex'));
  for (const s of [1n, 2n, N - 1n, k]) assert.equal(agree(der(r, s), opposite, publicKey, `t·G = −Q, s = ${s}`), false);
});
