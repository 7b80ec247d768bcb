// Fragile layer in the core: embed then verify on a frame with partial edge
// blocks, zero and saturated pixels; one changed pixel fails exactly its block;
// no pixel is made 0 or max, changes are at most 1, classes are invariant.
import { wmFragileSetup, wmFragile, FRAG_CTX_BYTES, FRAG_SCRATCH_BYTES } from '../../assembly/watermark/fragile';

const ROWS = 150, COLS = 70, BITS = 10, MAXV = 1023;

function frame(): StaticArray<u16> {
  const img = new StaticArray<u16>(ROWS * COLS);
  for (let i = 0; i < ROWS * COLS; i++) {
    const y = i / COLS, x = i % COLS;
    img[i] = <u16>(x < 20 ? 0 : y < 16 ? MAXV - ((x + y) & 1) : y < 24 ? 1 + (x & 1) : (x * 13 + y * 7) % 1000 + 3);
  }
  return img;
}

describe('fragile layer', () => {
  it('embeds and verifies; a single change fails exactly its block', () => {
    const key = new StaticArray<u8>(32);
    for (let i = 0; i < 32; i++) key[i] = <u8>(i * 5 + 1);
    const id = new StaticArray<u8>(12);
    id[0] = 7;
    const ctx = new StaticArray<u8>(FRAG_CTX_BYTES);
    const scratch = new StaticArray<u8>(FRAG_SCRATCH_BYTES);
    const setupScratch = new StaticArray<u8>(192);
    wmFragileSetup(changetype<usize>(key), changetype<usize>(id), ROWS, COLS, BITS, changetype<usize>(ctx), changetype<usize>(setupScratch));
    const orig = frame();
    const img = frame();
    const out = new StaticArray<i32>(2);
    wmFragile(changetype<usize>(img), ROWS, COLS, BITS, changetype<usize>(ctx), 0, 0, 0, 0, 0, 32, changetype<usize>(out), changetype<usize>(scratch));
    let changed = 0;
    for (let i = 0; i < ROWS * COLS; i++) {
      const a = <i32>orig[i], b = <i32>img[i];
      const d = b - a;
      expect(d >= -1 && d <= 1).toBe(true);
      if (d != 0) {
        changed++;
        expect(b != 0 && b != MAXV).toBe(true, 'made 0 or max');
        const ca = (a + 1) >> 1 < 1 ? 1 : ((a + 1) >> 1 > 511 ? 511 : (a + 1) >> 1);
        const cb = (b + 1) >> 1 < 1 ? 1 : ((b + 1) >> 1 > 511 ? 511 : (b + 1) >> 1);
        expect(ca).toBe(cb);
      }
    }
    expect(changed).toBe(out[1]);
    expect(changed > 0).toBe(true);
    // 3 x 2 blocks (150 = 2*64 + 22, 70 = 64 + 6)
    const ok = new StaticArray<u8>(6);
    expect(wmFragile(changetype<usize>(img), ROWS, COLS, BITS, changetype<usize>(ctx), 1, 0, 0, 0, 0, 32, changetype<usize>(ok), changetype<usize>(scratch))).toBe(6.0);
    img[140 * COLS + 66] ^= 2; // bottom-right partial block
    expect(wmFragile(changetype<usize>(img), ROWS, COLS, BITS, changetype<usize>(ctx), 1, 0, 0, 0, 0, 32, changetype<usize>(ok), changetype<usize>(scratch))).toBe(5.0);
    expect(ok[5]).toBe(0);
    expect(ok[0] + ok[1] + ok[2] + ok[3] + ok[4]).toBe(5);
  });
});
