// Per-chip statistics and the perceptual mask. A chip is an 8x8 pixel cell:
// the watermark adds one (dithered) level per chip, so its strength can follow
// the local activity (detector noise and texture hide it) and is cut to zero
// next to 0 or the maximum so no pixel ever clips or wraps.

/**
 * One SIMD pass over the frame (u16, row stride `cols`): for each 8x8 chip of
 * the gr x gc grid at offset (0,0): sum (u32), min, max (u16) and activity =
 * sum of absolute vertical and horizontal neighbour differences inside the chip (u32).
 */
export function wmChipStats(img: usize, cols: i32, gr: i32, gc: i32, sumOut: usize, minOut: usize, maxOut: usize, actOut: usize): void {
  const stride = <usize>cols << 1;
  for (let cy = 0; cy < gr; cy++) {
    const rowBase = img + <usize>(cy * 8) * stride;
    for (let cx = 0; cx < gc; cx++) {
      let p = rowBase + (<usize>cx << 4);
      let prev = v128.load(p);
      let mn = prev, mx = prev;
      let sum = i32x4.extadd_pairwise_i16x8_u(prev);
      // horizontal differences within the row (lane i vs lane i+1)
      let sh = v128.shuffle<u16>(prev, prev, 1, 2, 3, 4, 5, 6, 7, 7);
      let act = i32x4.extadd_pairwise_i16x8_u(v128.or(i16x8.sub_sat_u(prev, sh), i16x8.sub_sat_u(sh, prev)));
      for (let r = 1; r < 8; r++) {
        p += stride;
        const v = v128.load(p);
        mn = i16x8.min_u(mn, v);
        mx = i16x8.max_u(mx, v);
        sum = i32x4.add(sum, i32x4.extadd_pairwise_i16x8_u(v));
        const dv = v128.or(i16x8.sub_sat_u(v, prev), i16x8.sub_sat_u(prev, v));
        sh = v128.shuffle<u16>(v, v, 1, 2, 3, 4, 5, 6, 7, 7);
        const dh = v128.or(i16x8.sub_sat_u(v, sh), i16x8.sub_sat_u(sh, v));
        act = i32x4.add(act, i32x4.add(i32x4.extadd_pairwise_i16x8_u(dv), i32x4.extadd_pairwise_i16x8_u(dh)));
        prev = v;
      }
      const i = <usize>(cy * gc + cx);
      store<u32>(sumOut + (i << 2), <u32>(i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1) + i32x4.extract_lane(sum, 2) + i32x4.extract_lane(sum, 3)));
      store<u32>(actOut + (i << 2), <u32>(i32x4.extract_lane(act, 0) + i32x4.extract_lane(act, 1) + i32x4.extract_lane(act, 2) + i32x4.extract_lane(act, 3)));
      // horizontal reduce of min / max
      let m1 = i16x8.min_u(mn, v128.shuffle<u16>(mn, mn, 4, 5, 6, 7, 0, 1, 2, 3));
      m1 = i16x8.min_u(m1, v128.shuffle<u16>(m1, m1, 2, 3, 0, 1, 2, 3, 0, 1));
      m1 = i16x8.min_u(m1, v128.shuffle<u16>(m1, m1, 1, 0, 1, 0, 1, 0, 1, 0));
      let x1 = i16x8.max_u(mx, v128.shuffle<u16>(mx, mx, 4, 5, 6, 7, 0, 1, 2, 3));
      x1 = i16x8.max_u(x1, v128.shuffle<u16>(x1, x1, 2, 3, 0, 1, 2, 3, 0, 1));
      x1 = i16x8.max_u(x1, v128.shuffle<u16>(x1, x1, 1, 0, 1, 0, 1, 0, 1, 0));
      store<u16>(minOut + (i << 1), i16x8.extract_lane_u(m1, 0));
      store<u16>(maxOut + (i << 1), i16x8.extract_lane_u(x1, 0));
    }
  }
}

/**
 * Perceptual mask m_i = clamp(sqrt(act_i / mean act), lo, hi) (f32 at mOut);
 * chips touching 0 or `maxval` get 0. Returns sum of m_i^2.
 */
export function wmMask(act: usize, mins: usize, maxs: usize, n: i32, maxval: i32, lo: f32, hi: f32, mOut: usize): f64 {
  let total: f64 = 0;
  let cnt: i32 = 0;
  for (let i = 0; i < n; i++) {
    const mn = <i32>load<u16>(mins + (<usize>i << 1));
    const mx = <i32>load<u16>(maxs + (<usize>i << 1));
    if (mn > 0 && mx < maxval) { total += <f64>load<u32>(act + (<usize>i << 2)); cnt++; }
  }
  const ref: f64 = cnt > 0 && total > 0 ? total / <f64>cnt : 1.0;
  const inv: f32 = <f32>(1.0 / ref);
  let s2: f64 = 0;
  for (let i = 0; i < n; i++) {
    const mn = <i32>load<u16>(mins + (<usize>i << 1));
    const mx = <i32>load<u16>(maxs + (<usize>i << 1));
    let m: f32 = 0;
    if (mn > 0 && mx < maxval) {
      m = Mathf.sqrt(<f32>load<u32>(act + (<usize>i << 2)) * inv);
      m = m < lo ? lo : (m > hi ? hi : m);
    }
    store<f32>(mOut + (<usize>i << 2), m);
    s2 += <f64>(m * m);
  }
  return s2;
}

/**
 * Quantised amplitudes in 1/64 LSB (i32 at ampOut): A_i = gain * m_i, cut so
 * that the largest change ceil(A_i) stays <= cap, < min_i and < maxval - max_i
 * (no clipping, no wrap). Returns the exact sum over chips of the mean squared
 * pixel change of the dithered embedding, i.e. sum_i (A_i^2 + f_i (1 - f_i)).
 */
export function wmAmplitudes(m: usize, mins: usize, maxs: usize, n: i32, gain: f32, cap: i32, maxval: i32, ampOut: usize): f64 {
  let mse: f64 = 0;
  for (let i = 0; i < n; i++) {
    let a = <i32>(load<f32>(m + (<usize>i << 2)) * gain * 64.0);
    let lim = cap;
    const mn = <i32>load<u16>(mins + (<usize>i << 1));
    const head = maxval - <i32>load<u16>(maxs + (<usize>i << 1));
    // strictly inside the range: no pixel is driven to 0 or maxval
    if (mn - 1 < lim) lim = mn - 1;
    if (head - 1 < lim) lim = head - 1;
    if (lim < 0) lim = 0;
    if (a > lim << 6) a = lim << 6;
    if (a < 0) a = 0;
    store<i32>(ampOut + (<usize>i << 2), a);
    const x = <f64>a / 64.0;
    const f = <f64>(a & 63) / 64.0;
    mse += x * x + f * (1.0 - f);
  }
  return mse;
}
