// Error correction for the payload: CRC-16/CCITT over the information bits and
// a rate-1/3, constraint-length-7 convolutional code (generators 133, 171, 165
// octal) with a zero tail, decoded by soft-decision Viterbi. Bits are bytes
// holding 0 or 1.

const K: i32 = 7;
const NS: i32 = 64; // 2^(K-1) states

// @ts-ignore: decorator
@inline function parity(x: u32): u32 {
  return popcnt<u32>(x) & 1;
}

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xffff) over n bits, MSB first. */
export function wmCrc16(bits: usize, n: i32): u32 {
  let crc: u32 = 0xffff;
  for (let i = 0; i < n; i++) {
    const b = <u32>load<u8>(bits + <usize>i) & 1;
    const top = ((crc >> 15) & 1) ^ b;
    crc = (crc << 1) & 0xffff;
    if (top) crc ^= 0x1021;
  }
  return crc;
}

/** Encodes n bits (+ K-1 zero tail bits) to 3*(n+K-1) coded bits at out. */
export function wmConvEncode(bits: usize, n: i32, out: usize): void {
  let reg: u32 = 0;
  for (let i = 0; i < n + K - 1; i++) {
    const b: u32 = i < n ? <u32>load<u8>(bits + <usize>i) & 1 : 0;
    reg = ((reg << 1) | b) & 0x7f;
    const o = out + <usize>(3 * i);
    store<u8>(o, <u8>parity(reg & 0o133));
    store<u8>(o + 1, <u8>parity(reg & 0o171));
    store<u8>(o + 2, <u8>parity(reg & 0o165));
  }
}

/**
 * Soft Viterbi: soft (f32, 3*(n+K-1) values, positive means bit 0) -> n bits at
 * out. scratch: 2*64*8 bytes of path metrics + 64*(n+K-1) bytes of decisions.
 * Returns the final path metric.
 */
export function wmViterbi(soft: usize, n: i32, out: usize, scratch: usize): f64 {
  const steps = n + K - 1;
  let cur = scratch, nxt = scratch + <usize>(NS * 8);
  const dec = scratch + <usize>(2 * NS * 8);
  const NEG: f64 = -1e300;
  for (let s = 0; s < NS; s++) store<f64>(cur + (<usize>s << 3), s == 0 ? 0 : NEG);
  for (let i = 0; i < steps; i++) {
    const y0 = <f64>load<f32>(soft + (<usize>(3 * i) << 2));
    const y1 = <f64>load<f32>(soft + (<usize>(3 * i + 1) << 2));
    const y2 = <f64>load<f32>(soft + (<usize>(3 * i + 2) << 2));
    for (let ns = 0; ns < NS; ns++) {
      // next state ns = ((prev << 1) | b) & 63, b = ns & 1; prev = (ns >> 1) | (hi << 5)
      const b = <u32>(ns & 1);
      let bestM: f64 = NEG;
      let bestHi: u8 = 0;
      for (let hi = 0; hi < 2; hi++) {
        const prev = (ns >> 1) | (hi << 5);
        const pm = load<f64>(cur + (<usize>prev << 3));
        if (pm <= NEG) continue;
        const reg: u32 = ((<u32>prev << 1) | b) & 0x7f;
        const c0 = parity(reg & 0o133), c1 = parity(reg & 0o171), c2 = parity(reg & 0o165);
        const m = pm + (c0 ? -y0 : y0) + (c1 ? -y1 : y1) + (c2 ? -y2 : y2);
        if (m > bestM) { bestM = m; bestHi = <u8>hi; }
      }
      store<f64>(nxt + (<usize>ns << 3), bestM);
      store<u8>(dec + <usize>(i * NS + ns), bestHi);
    }
    const tmp = cur; cur = nxt; nxt = tmp;
  }
  // zero tail: end in state 0
  let state: i32 = 0;
  const metric = load<f64>(cur);
  for (let i = steps - 1; i >= 0; i--) {
    const hi = <i32>load<u8>(dec + <usize>(i * NS + state));
    if (i < n) store<u8>(out + <usize>i, <u8>(state & 1));
    state = (state >> 1) | (hi << 5);
  }
  return metric;
}
