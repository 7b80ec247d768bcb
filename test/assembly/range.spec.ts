// u16MinMax against a plain scalar scan: runs of every length around the 32-pixel step (the
// vector body, the scalar tail and both), unaligned starts, extremes in every lane and the tail.
import { u16MinMax } from '../../assembly/range';

function fill(p: usize, n: u32, seed: u32): void {
  let x = seed | 1;
  for (let i: u32 = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    store<u16>(p + (<usize>i << 1), <u16>((x & 0x3fff) + 100));
  }
}

function scalar(p: usize, n: u32): u32 {
  let lo: u32 = 0xffff, hi: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const v = <u32>load<u16>(p + (<usize>i << 1));
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo | (hi << 16);
}

describe('u16MinMax', () => {
  it('gives min 0xffff and max 0 for an empty run', () => {
    expect(u16MinMax(0, 0)).toBe(0x0000ffff);
  });

  it('matches a scalar scan for every length 1..200 and every start alignment', () => {
    const buf = heap.alloc(512);
    for (let off: usize = 0; off < 4; off += 2) {
      for (let n: u32 = 1; n <= 200; n++) {
        fill(buf + off, n, n * 31 + <u32>off);
        expect(u16MinMax(buf + off, n)).toBe(scalar(buf + off, n));
      }
    }
    heap.free(buf);
  });

  it('finds 0 and 0xffff wherever they are: any lane of the vector body and the tail', () => {
    const n: u32 = 77; // two 32-pixel steps and a 13-pixel tail
    const buf = heap.alloc(<usize>n << 1);
    for (let at: u32 = 0; at < n; at++) {
      fill(buf, n, 5);
      store<u16>(buf + (<usize>at << 1), 0xffff);
      expect(u16MinMax(buf, n) >>> 16).toBe(0xffff);
      fill(buf, n, 5);
      store<u16>(buf + (<usize>at << 1), 0);
      expect(u16MinMax(buf, n) & 0xffff).toBe(0);
    }
    heap.free(buf);
  });
});
