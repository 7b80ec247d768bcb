// Detection on the chip grid: chip means (SIMD for 8x8 chips), a high-pass
// residual that removes the image's own low-frequency content, folding of the
// residual onto one tile, and per-block correlation for the tamper map.

/**
 * Chip means (f32) of a u16 frame (row stride `cols`) for chips of `chip`
 * pixels starting at pixel (oy, ox): gr x gc chips. 8x8 chips use SIMD.
 */
export function wmChipMeans(img: usize, cols: i32, chip: i32, oy: i32, ox: i32, gr: i32, gc: i32, out: usize): void {
  const stride = <usize>cols << 1;
  const inv: f32 = 1.0 / <f32>(chip * chip);
  if (chip == 8) {
    for (let cy = 0; cy < gr; cy++) {
      const rowBase = img + <usize>(oy + cy * 8) * stride + (<usize>ox << 1);
      const o = out + (<usize>(cy * gc) << 2);
      let cx = 0;
      for (; cx < gc; cx++) {
        let p = rowBase + (<usize>cx << 4);
        let s = i32x4.extadd_pairwise_i16x8_u(v128.load(p));
        s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_u(v128.load(p + stride)));
        s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_u(v128.load(p + 2 * stride)));
        s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_u(v128.load(p + 3 * stride)));
        s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_u(v128.load(p + 4 * stride)));
        s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_u(v128.load(p + 5 * stride)));
        s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_u(v128.load(p + 6 * stride)));
        s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_u(v128.load(p + 7 * stride)));
        const tot = i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
        store<f32>(o + (<usize>cx << 2), <f32>tot * inv);
      }
    }
    return;
  }
  for (let cy = 0; cy < gr; cy++) {
    for (let cx = 0; cx < gc; cx++) {
      let tot: u32 = 0;
      let p = img + <usize>(oy + cy * chip) * stride + (<usize>(ox + cx * chip) << 1);
      for (let r = 0; r < chip; r++) {
        for (let c = 0; c < chip; c++) tot += <u32>load<u16>(p + (<usize>c << 1));
        p += stride;
      }
      store<f32>(out + (<usize>(cy * gc + cx) << 2), <f32>tot * inv);
    }
  }
}

/**
 * Whitened residual on the chip grid. First a high-pass that removes the
 * image's own smooth content: r = M - (2 * (N + S + E + W) - (NE + NW + SE + SW)) / 4
 * (the bilinear-surface prediction; the 8-neighbour mean at the border).
 * Then each r is divided by the local rms of r over a 5 x 5 chip window, so
 * busy regions (edges, bone texture) weigh less than quiet ones, and the result
 * is clipped to +-clipK. `scratch` holds 2 * gr * gc f32.
 */
export function wmResidual(means: usize, gr: i32, gc: i32, clipK: f32, out: usize, scratch: usize): f32 {
  let tot: f64 = 0;
  for (let y = 0; y < gr; y++) {
    for (let x = 0; x < gc; x++) {
      const i = <usize>(y * gc + x) << 2;
      let r: f32 = 0;
      if (y > 0 && x > 0 && y < gr - 1 && x < gc - 1) {
        const up = means + (<usize>((y - 1) * gc + x) << 2), dn = means + (<usize>((y + 1) * gc + x) << 2);
        const n4 = load<f32>(up) + load<f32>(dn) + load<f32>(means + i - 4) + load<f32>(means + i + 4);
        const d4 = load<f32>(up - 4) + load<f32>(up + 4) + load<f32>(dn - 4) + load<f32>(dn + 4);
        r = load<f32>(means + i) - (2 * n4 - d4) * 0.25;
      } else {
        let s: f32 = 0;
        let n: i32 = 0;
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= gr) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if ((dy == 0 && dx == 0) || xx < 0 || xx >= gc) continue;
            s += load<f32>(means + (<usize>(yy * gc + xx) << 2));
            n++;
          }
        }
        r = n > 0 ? load<f32>(means + i) - s / <f32>n : <f32>0;
      }
      store<f32>(out + i, r);
      tot += <f64>(r * r);
    }
  }
  wmLocalNormalize(out, gr, gc, clipK, scratch, <f32>tot);
  return clipK;
}


/**
 * Floor of eps in squared input units (LSB^2 of the chip signal): a flat region (collimation at 0, a
 * saturated field) has ~0 residual, and the fragile layer's 1-LSB carrier changes there (1/64 LSB on a chip
 * mean) were normalised to full weight, noise over most of a collimated frame. Far below any mark (~1 LSB
 * rms at 10 bits, ~0.3 LSB after an 8-bit export).
 */
const EPS_FLOOR: f32 = 0.05;

/**
 * In place: x_i <- clamp(x_i / sqrt(mean of x^2 over the 5 x 5 chip window + eps), +-clipK),
 * eps = max(1e-4 of the global mean square, EPS_FLOOR). Pass totSq < 0 to have it computed.
 * `scratch` holds 2 * gr * gc f32. Horizontal window sums run as sliding sums; the vertical
 * pass and the division are SIMD over 4 chips.
 */
export function wmLocalNormalize(out: usize, gr: i32, gc: i32, clipK: f32, scratch: usize, totSq: f32): void {
  let tot: f64 = <f64>totSq;
  const n = gr * gc;
  if (totSq < 0) {
    tot = 0;
    for (let i = 0; i < n; i++) { const r = load<f32>(out + (<usize>i << 2)); tot += <f64>(r * r); }
  }
  let eps: f32 = n > 0 ? <f32>(tot / <f64>n) * 1e-4 : 1;
  if (eps < EPS_FLOOR) eps = EPS_FLOOR;
  // local energy: 5-tap horizontal means of r^2 (window clipped at the borders)
  const h = scratch;
  for (let y = 0; y < gr; y++) {
    const row = out + (<usize>(y * gc) << 2), hrow = h + (<usize>(y * gc) << 2);
    let s: f64 = 0;
    for (let k = 0; k < 2 && k < gc; k++) { const v = load<f32>(row + (<usize>k << 2)); s += <f64>(v * v); }
    for (let x = 0; x < gc; x++) {
      if (x + 2 < gc) { const v = load<f32>(row + (<usize>(x + 2) << 2)); s += <f64>(v * v); }
      if (x - 3 >= 0) { const v = load<f32>(row + (<usize>(x - 3) << 2)); s -= <f64>(v * v); }
      const x0 = x - 2 < 0 ? 0 : x - 2, x1 = x + 2 >= gc ? gc - 1 : x + 2;
      store<f32>(hrow + (<usize>x << 2), <f32>(s > 0 ? s : 0) / <f32>(x1 - x0 + 1));
    }
  }
  // 5-tap vertical means, then the division and clip, 4 chips at a time
  const vk = f32x4.splat(clipK), vnk = f32x4.splat(-clipK), ve = f32x4.splat(eps);
  const g4 = gc & ~3;
  for (let y = 0; y < gr; y++) {
    const y0 = y - 2 < 0 ? 0 : y - 2, y1 = y + 2 >= gr ? gr - 1 : y + 2;
    const inv: f32 = 1.0 / <f32>(y1 - y0 + 1);
    const vinv = f32x4.splat(inv);
    const orow = out + (<usize>(y * gc) << 2);
    let x = 0;
    for (; x < g4; x += 4) {
      let s = f32x4.splat(0);
      for (let k = y0; k <= y1; k++) s = f32x4.add(s, v128.load(h + (<usize>(k * gc + x) << 2)));
      const q = orow + (<usize>x << 2);
      const r = f32x4.div(v128.load(q), f32x4.sqrt(f32x4.add(f32x4.mul(s, vinv), ve)));
      v128.store(q, f32x4.min(vk, f32x4.max(vnk, r)));
    }
    for (; x < gc; x++) {
      let s: f32 = 0;
      for (let k = y0; k <= y1; k++) s += load<f32>(h + (<usize>(k * gc + x) << 2));
      const q = orow + (<usize>x << 2);
      let r = load<f32>(q) / Mathf.sqrt(s * inv + eps);
      r = r > clipK ? clipK : (r < -clipK ? -clipK : r);
      store<f32>(q, r);
    }
  }
}

/**
 * Folds the residual onto one t x t tile: F[(y+offR) mod t][(x+offC) mod t] += r[y][x].
 */
export function wmFold(res: usize, gr: i32, gc: i32, t: i32, offR: i32, offC: i32, out: usize): void {
  memory.fill(out, 0, <usize>(t * t) << 2);
  for (let y = 0; y < gr; y++) {
    const ty = ((y + offR) % t) * t;
    let tx = offC % t;
    const row = res + (<usize>(y * gc) << 2);
    for (let x = 0; x < gc; x++) {
      const q = out + (<usize>(ty + tx) << 2);
      store<f32>(q, load<f32>(q) + load<f32>(row + (<usize>x << 2)));
      if (++tx == t) tx = 0;
    }
  }
}

/**
 * Tamper map: for each block of bs x bs chips, z = sum(e * r) / sqrt(sum r^2)
 * over the block's eligible chips (elig: u8 per chip, 0 = skip; elig = 0
 * pointer = all), e the expected sign (f32 per tile position, tile aligned
 * with offsets offR/offC). Writes z and the number of chips used (f32).
 */
export function wmBlockScores(res: usize, gr: i32, gc: i32, expSign: usize, t: i32, offR: i32, offC: i32, bs: i32, br: i32, bc: i32, elig: usize, zOut: usize, nOut: usize): void {
  for (let by = 0; by < br; by++) {
    for (let bx = 0; bx < bc; bx++) {
      let num: f64 = 0, den: f64 = 0;
      let cnt: i32 = 0;
      for (let y = by * bs; y < by * bs + bs && y < gr; y++) {
        const ty = ((y + offR) % t) * t;
        for (let x = bx * bs; x < bx * bs + bs && x < gc; x++) {
          if (elig != 0 && load<u8>(elig + <usize>(y * gc + x)) == 0) continue;
          const r = load<f32>(res + (<usize>(y * gc + x) << 2));
          const e = load<f32>(expSign + (<usize>(ty + (x + offC) % t) << 2));
          num += <f64>(r * e);
          den += <f64>(r * r);
          cnt++;
        }
      }
      const k = <usize>(by * bc + bx) << 2;
      store<f32>(zOut + k, den > 0 ? <f32>(num / Math.sqrt(den)) : <f32>0);
      store<f32>(nOut + k, <f32>cnt);
    }
  }
}

/**
 * Lossless-path chip offsets from pixel steps at chip borders. For each chip
 * (chip x chip pixels at offset oy, ox) and each of its four borders, every
 * pixel pair across the border gives d = 3 (in - out) - (in2 - out2) (in2/out2
 * one pixel further in/out), which cancels any locally linear image gradient
 * and leaves 2 * (x_chip - x_neighbour) of a chip-constant mark plus pixel
 * noise. Writes the mean d per chip (f32, 0 when no border is usable).
 * Border chips use the borders that have two pixels on both sides.
 */
export function wmEdgeStats(img: usize, rows: i32, cols: i32, chip: i32, oy: i32, ox: i32, gr: i32, gc: i32, out: usize): void {
  const stride = <usize>cols << 1;
  if (chip == 8) { edgeStats8(img, rows, cols, oy, ox, gr, gc, out); return; }
  for (let cy = 0; cy < gr; cy++) {
    const y0 = oy + cy * chip;
    for (let cx = 0; cx < gc; cx++) {
      const x0 = ox + cx * chip;
      let s: i32 = 0;
      let n: i32 = 0;
      // top and bottom borders (rows)
      if (y0 >= 2 && y0 + 1 < rows) {
        const pin = img + <usize>y0 * stride + (<usize>x0 << 1);
        for (let k = 0; k < chip; k++) {
          const q = pin + (<usize>k << 1);
          s += 3 * (<i32>load<u16>(q) - <i32>load<u16>(q - stride)) - (<i32>load<u16>(q + stride) - <i32>load<u16>(q - 2 * stride));
        }
        n += chip;
      }
      const yb = y0 + chip - 1;
      if (yb + 2 < rows && yb >= 1) {
        const pin = img + <usize>yb * stride + (<usize>x0 << 1);
        for (let k = 0; k < chip; k++) {
          const q = pin + (<usize>k << 1);
          s += 3 * (<i32>load<u16>(q) - <i32>load<u16>(q + stride)) - (<i32>load<u16>(q - stride) - <i32>load<u16>(q + 2 * stride));
        }
        n += chip;
      }
      // left and right borders (columns)
      if (x0 >= 2 && x0 + 1 < cols) {
        let q = img + <usize>y0 * stride + (<usize>x0 << 1);
        for (let k = 0; k < chip; k++) {
          s += 3 * (<i32>load<u16>(q) - <i32>load<u16>(q - 2)) - (<i32>load<u16>(q + 2) - <i32>load<u16>(q - 4));
          q += stride;
        }
        n += chip;
      }
      const xb = x0 + chip - 1;
      if (xb + 2 < cols && xb >= 1) {
        let q = img + <usize>y0 * stride + (<usize>xb << 1);
        for (let k = 0; k < chip; k++) {
          s += 3 * (<i32>load<u16>(q) - <i32>load<u16>(q + 2)) - (<i32>load<u16>(q - 2) - <i32>load<u16>(q + 4));
          q += stride;
        }
        n += chip;
      }
      store<f32>(out + (<usize>(cy * gc + cx) << 2), n > 0 ? <f32>s / <f32>n : <f32>0);
    }
  }
}

/**
 * Marks chips that touch 0 or maxval (the embedder leaves those unmarked):
 * writes 1 (eligible) or 0 per chip (u8). Scalar; any chip size and offset.
 */
export function wmEligible(img: usize, cols: i32, chip: i32, oy: i32, ox: i32, gr: i32, gc: i32, maxval: i32, out: usize): void {
  const stride = <usize>cols << 1;
  if (chip == 8) {
    // SIMD: per chip, lanes are 0 where a pixel is 0 or >= maxval
    const one = i16x8.splat(1), top = i16x8.splat(<i16>(maxval - 1));
    for (let cy = 0; cy < gr; cy++) {
      const rowBase = img + <usize>(oy + cy * 8) * stride + (<usize>ox << 1);
      for (let cx = 0; cx < gc; cx++) {
        let p = rowBase + (<usize>cx << 4);
        let mn = v128.load(p), mx = mn;
        for (let r = 1; r < 8; r++) {
          p += stride;
          const v = v128.load(p);
          mn = i16x8.min_u(mn, v);
          mx = i16x8.max_u(mx, v);
        }
        // eligible <=> all lanes of mn >= 1 and all lanes of mx <= maxval - 1
        const ok = v128.and(i16x8.ge_u(mn, one), i16x8.le_u(mx, top));
        store<u8>(out + <usize>(cy * gc + cx), i16x8.all_true(ok) ? 1 : 0);
      }
    }
    return;
  }
  for (let cy = 0; cy < gr; cy++) {
    for (let cx = 0; cx < gc; cx++) {
      let ok: u8 = 1;
      let p = img + <usize>(oy + cy * chip) * stride + (<usize>(ox + cx * chip) << 1);
      for (let r = 0; r < chip && ok; r++) {
        for (let c = 0; c < chip; c++) {
          const v = <i32>load<u16>(p + (<usize>c << 1));
          if (v == 0 || v >= maxval) { ok = 0; break; }
        }
        p += stride;
      }
      store<u8>(out + <usize>(cy * gc + cx), ok);
    }
  }
}

/**
 * wmEdgeStats for 8x8 chips, boundary by boundary: the bottom term of a chip is
 * minus the top term of the chip below (and right = minus left of the chip to
 * the right), so every boundary is computed once and added to one chip and
 * subtracted from the other. Horizontal boundaries use SIMD over 8 columns.
 * Same result as the generic loop (sums are exact integers in f32).
 */
function edgeStats8(img: usize, rows: i32, cols: i32, oy: i32, ox: i32, gr: i32, gc: i32, out: usize): void {
  const stride = <usize>cols << 1;
  memory.fill(out, 0, <usize>(gr * gc) << 2);
  // horizontal boundaries at Y = oy + 8j, j = 0..gr
  const three = i32x4.splat(3);
  for (let j = 0; j <= gr; j++) {
    const Y = oy + 8 * j;
    if (Y < 2 || Y + 1 >= rows) continue;
    const r0 = img + <usize>Y * stride + (<usize>ox << 1);
    for (let cx = 0; cx < gc; cx++) {
      const q = r0 + (<usize>cx << 4);
      const a = v128.load(q), b = v128.load(q - stride), c = v128.load(q + stride), d = v128.load(q - 2 * stride);
      // 3 (a - b) - (c - d), widened to i32
      let t = i32x4.sub(i32x4.mul(three, i32x4.sub(i32x4.extend_low_i16x8_u(a), i32x4.extend_low_i16x8_u(b))),
        i32x4.sub(i32x4.extend_low_i16x8_u(c), i32x4.extend_low_i16x8_u(d)));
      t = i32x4.add(t, i32x4.sub(i32x4.mul(three, i32x4.sub(i32x4.extend_high_i16x8_u(a), i32x4.extend_high_i16x8_u(b))),
        i32x4.sub(i32x4.extend_high_i16x8_u(c), i32x4.extend_high_i16x8_u(d))));
      const sum = <f32>(i32x4.extract_lane(t, 0) + i32x4.extract_lane(t, 1) + i32x4.extract_lane(t, 2) + i32x4.extract_lane(t, 3));
      if (j < gr) { const o = out + (<usize>(j * gc + cx) << 2); store<f32>(o, load<f32>(o) + sum); }
      if (j > 0) { const o = out + (<usize>((j - 1) * gc + cx) << 2); store<f32>(o, load<f32>(o) - sum); }
    }
  }
  // vertical boundaries at X = ox + 8j, j = 0..gc, for every pixel row of the chip grid
  let j0 = 0, j1 = gc;
  while (j0 <= gc && (ox + 8 * j0 < 2 || ox + 8 * j0 + 1 >= cols)) j0++;
  while (j1 >= j0 && (ox + 8 * j1 < 2 || ox + 8 * j1 + 1 >= cols)) j1--;
  // d = 3 (p[X] - p[X-1]) - (p[X+1] - p[X-2]) as a dot product of the 4 pixels from X-2 with
  // (1, -3, 3, -1): the weights sum to 0, so flipping the top bit (u16 -> i16) changes nothing.
  const wts = i16x8(1, -3, 3, -1, 0, 0, 0, 0), top = i16x8.splat(-32768);
  for (let cy = 0; cy < gr; cy++) {
    const orow = out + (<usize>(cy * gc) << 2);
    for (let j = j0; j <= j1; j++) {
      const X = ox + 8 * j;
      let p = img + <usize>(oy + 8 * cy) * stride + (<usize>(X - 2) << 1);
      let acc = i32x4.splat(0);
      for (let r = 0; r < 8; r++) {
        acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.xor(v128.load64_zero(p), top), wts));
        p += stride;
      }
      const v = <f32>(i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1));
      if (j < gc) { const o = orow + (<usize>j << 2); store<f32>(o, load<f32>(o) + v); }
      if (j > 0) { const o = orow + (<usize>(j - 1) << 2); store<f32>(o, load<f32>(o) - v); }
    }
  }
  // divide by the number of border pixels used
  for (let cy = 0; cy < gr; cy++) {
    const y0 = oy + 8 * cy;
    let nv = 0;
    if (y0 >= 2 && y0 + 1 < rows) nv += 8;
    if (y0 + 8 >= 2 && y0 + 9 < rows) nv += 8;
    for (let cx = 0; cx < gc; cx++) {
      const x0 = ox + 8 * cx;
      let n = nv;
      if (x0 >= 2 && x0 + 1 < cols) n += 8;
      if (x0 + 8 >= 2 && x0 + 9 < cols) n += 8;
      const o = out + (<usize>(cy * gc + cx) << 2);
      store<f32>(o, n > 0 ? load<f32>(o) / <f32>n : 0);
    }
  }
}

/**
 * Mirror a u16 frame into dst (not in place): mode 1 left-right, 2 top-bottom,
 * 3 both (= rotation by 180 degrees). Flips are involutions, so flipping a
 * flipped export restores the marked orientation exactly.
 */
export function wmFlip(src: usize, dst: usize, rows: i32, cols: i32, mode: i32): void {
  const stride = <usize>cols << 1;
  for (let y = 0; y < rows; y++) {
    const sy = (mode & 2) ? rows - 1 - y : y;
    const s = src + <usize>sy * stride, d = dst + <usize>y * stride;
    if ((mode & 1) == 0) { memory.copy(d, s, stride); continue; }
    for (let x = 0; x < cols; x++) store<u16>(d + (<usize>x << 1), load<u16>(s + (<usize>(cols - 1 - x) << 1)));
  }
}
