// Embedding: one SIMD pass that adds to every pixel of chip i the dithered
// level floor(x_i + d), x_i = s_j * A_i / 64 with s_j the chip's expected
// sign (+1/-1, pilot sign or sign times coded bit) and d an 8x8 ordered
// dither, so the chip mean moves by exactly x_i. wmAmplitudes guarantees the
// result stays in [0, maxval], so the wrapping i16 add is exact.

// Bayer 8x8 ordered-dither thresholds 0..63, one v128 (8 x u16) per row (also used by fragile.ts).
export const BAYER: usize = memory.data<u16>([
  0, 32, 8, 40, 2, 34, 10, 42,
  48, 16, 56, 24, 50, 18, 58, 26,
  12, 44, 4, 36, 14, 46, 6, 38,
  60, 28, 52, 20, 62, 30, 54, 22,
  3, 35, 11, 43, 1, 33, 9, 41,
  51, 19, 59, 27, 49, 17, 57, 25,
  15, 47, 7, 39, 13, 45, 5, 37,
  63, 31, 55, 23, 61, 29, 53, 21,
], 16);

/**
 * img: u16 frame, row stride `cols`; gr x gc chips of 8x8 at (0,0);
 * amp: i32 amplitude per chip in 1/64 LSB; tileSign: i8 per tile position
 * (t x t); the chip (cy,cx) uses position (cy mod t, cx mod t).
 */
export function wmEmbed(img: usize, cols: i32, gr: i32, gc: i32, amp: usize, tileSign: usize, t: i32): void {
  const stride = <usize>cols << 1;
  const th = i16x8.splat(63);
  for (let cy = 0; cy < gr; cy++) {
    const rowBase = img + <usize>(cy * 8) * stride;
    const trow = tileSign + <usize>((cy % t) * t);
    let tx = 0;
    for (let cx = 0; cx < gc; cx++) {
      const a = load<i32>(amp + (<usize>(cy * gc + cx) << 2));
      const s = <i32>load<i8>(trow + <usize>tx);
      if (++tx == t) tx = 0;
      if (a == 0) continue;
      const x = s * a;
      const k = i16x8.splat(<i16>(x >> 6));
      const nv = i16x8.splat(<i16>(x & 63));
      let p = rowBase + (<usize>cx << 4);
      for (let r: usize = 0; r < 8; r++) {
        const gt = i16x8.gt_s(i16x8.add(v128.load(BAYER + (r << 4)), nv), th);
        const d = i16x8.sub(k, gt);
        v128.store(p, i16x8.add(v128.load(p), d));
        p += stride;
      }
    }
  }
}
