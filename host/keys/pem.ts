// PEM armour and the fixed DER shapes of Ed25519 keys (RFC 8410).
// The PKCS#8 and SPKI encodings of an Ed25519 key are a constant prefix plus
// 32 bytes, so a parser library would add nothing here.

const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** Every PEM block with the given label, in order. */
export function fromPemAll(text: string, label: string): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+?)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
}

export function ed25519Pkcs8(seed: Uint8Array): Uint8Array {
  const out = new Uint8Array(PKCS8_PREFIX.length + 32);
  out.set(PKCS8_PREFIX);
  out.set(seed, PKCS8_PREFIX.length);
  return out;
}

/** The 32-byte seed from an Ed25519 PKCS#8 PrivateKeyInfo; throws for anything else. */
export function seedFromPkcs8(der: Uint8Array): Uint8Array {
  const prefixMatches = der.length === PKCS8_PREFIX.length + 32 && PKCS8_PREFIX.every((b, i) => der[i] === b);
  if (!prefixMatches) throw new Error('not an Ed25519 PKCS#8 private key (RFC 8410)');
  return der.slice(PKCS8_PREFIX.length);
}
