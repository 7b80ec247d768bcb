// ChaCha20 (RFC 8439 §2.3.2 block vector) and the convolutional code / Viterbi round trip.
import { chacha20Block } from '../../assembly/watermark/chacha20';
import { wmConvEncode, wmViterbi, wmCrc16 } from '../../assembly/watermark/ecc';

function hexOf(p: usize, n: i32): string {
  const digits = '0123456789abcdef';
  let s = '';
  for (let i = 0; i < n; i++) {
    const b = load<u8>(p + <usize>i);
    s += digits.charAt(b >> 4) + digits.charAt(b & 15);
  }
  return s;
}

describe('chacha20', () => {
  it('matches RFC 8439 2.3.2', () => {
    const key = new StaticArray<u8>(32);
    for (let i = 0; i < 32; i++) key[i] = <u8>i;
    const nonce = new StaticArray<u8>(12);
    nonce[3] = 0x09; nonce[7] = 0x4a;
    const out = new StaticArray<u8>(64);
    chacha20Block(changetype<usize>(key), 1, changetype<usize>(nonce), changetype<usize>(out));
    expect(hexOf(changetype<usize>(out), 64)).toBe(
      '10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e' +
      'd2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e');
  });
});

describe('ecc', () => {
  it('CRC-16/CCITT-FALSE of "123456789" is 0x29b1', () => {
    const msg = '123456789';
    const bits = new StaticArray<u8>(72);
    for (let i = 0; i < 72; i++) bits[i] = <u8>((msg.charCodeAt(i >> 3) >> (7 - (i & 7))) & 1);
    expect(wmCrc16(changetype<usize>(bits), 72)).toBe(0x29b1);
  });
  it('Viterbi corrects scattered errors of the rate-1/3 code', () => {
    const n = 112;
    const bits = new StaticArray<u8>(n);
    for (let i = 0; i < n; i++) bits[i] = <u8>((i * 7 + 3) % 5 < 2 ? 1 : 0);
    const coded = new StaticArray<u8>(3 * (n + 6));
    wmConvEncode(changetype<usize>(bits), n, changetype<usize>(coded));
    const soft = new StaticArray<f32>(3 * (n + 6));
    for (let i = 0; i < 3 * (n + 6); i++) soft[i] = coded[i] ? -1.0 : 1.0;
    for (let i = 0; i < 3 * (n + 6); i += 17) soft[i] = -soft[i]; // ~6% flipped
    const out = new StaticArray<u8>(n);
    const scratch = new StaticArray<u8>(2 * 64 * 8 + 64 * (n + 6));
    wmViterbi(changetype<usize>(soft), n, changetype<usize>(out), changetype<usize>(scratch));
    let errs = 0;
    for (let i = 0; i < n; i++) if (out[i] != bits[i]) errs++;
    expect(errs).toBe(0);
  });
});
