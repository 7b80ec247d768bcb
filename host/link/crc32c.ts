// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI,
// SCTP and ext4. Slice-by-8 tables: ~1 GB/s in V8, far above any link rate.
// Check value (RFC 3720 B.4 / the "123456789" catalogue entry): 0xE3069283.

const POLY = 0x82f63b78;
const T = new Uint32Array(8 * 256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[i] = c >>> 0;
}
for (let i = 0; i < 256; i++) {
  for (let t = 1; t < 8; t++) T[t * 256 + i] = (T[(t - 1) * 256 + i] >>> 8) ^ T[T[(t - 1) * 256 + i] & 0xff];
}

/** Continues a CRC-32C: pass the previous result as `crc` (0 to start). */
export function crc32c(data: Uint8Array, crc = 0, start = 0, end = data.length): number {
  let c = ~crc >>> 0;
  let i = start;
  const n8 = start + ((end - start) & ~7);
  while (i < n8) {
    const a = (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) ^ c;
    c =
      T[7 * 256 + (a & 0xff)] ^
      T[6 * 256 + ((a >>> 8) & 0xff)] ^
      T[5 * 256 + ((a >>> 16) & 0xff)] ^
      T[4 * 256 + (a >>> 24)] ^
      T[3 * 256 + data[i + 4]] ^
      T[2 * 256 + data[i + 5]] ^
      T[256 + data[i + 6]] ^
      T[data[i + 7]];
    i += 8;
  }
  while (i < end) c = T[(c ^ data[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
