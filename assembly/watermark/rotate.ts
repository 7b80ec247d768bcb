// The rotation search's two heavy loops (host/watermark/rotation.ts and detectWatermark's stage 3):
// the chip-residual autocorrelation at a fractional lag, and turning a frame back by an angle.

/**
 * Sum over every rowStep-th row y of the gr x gc f32 map r of r(y, x) * r(y + dy, x + dx), the shifted
 * map sampled bilinearly (samples that fall outside are skipped), divided by sqrt(count).
 */
export function wmLagCorr(r: usize, gr: i32, gc: i32, dy: f64, dx: f64, rowStep: i32): f64 {
  let s: f64 = 0;
  let n: i32 = 0;
  // x range where sx = x + dx lies in [0, gc - 1)
  let x0 = <i32>Math.ceil(-dx);
  if (x0 < 0) x0 = 0;
  let x1 = <i32>Math.ceil(<f64>(gc - 1) - dx); // exclusive
  if (x1 > gc) x1 = gc;
  if (x1 <= x0) return 0;
  const fx = Math.floor(dx);
  const wx = <f32>(dx - fx);
  const ix = <i32>fx;
  for (let y = 0; y < gr; y += rowStep) {
    const sy = <f64>y + dy;
    if (sy < 0 || sy >= <f64>(gr - 1)) continue;
    const yy = <i32>Math.floor(sy);
    const wy = <f32>(sy - <f64>yy);
    const a = r + (<usize>(yy * gc) << 2), b = a + (<usize>gc << 2);
    const row = r + (<usize>(y * gc) << 2);
    let acc: f32 = 0;
    for (let x = x0; x < x1; x++) {
      const k = <usize>(x + ix) << 2;
      const top = load<f32>(a + k) + wx * (load<f32>(a + k + 4) - load<f32>(a + k));
      const bot = load<f32>(b + k) + wx * (load<f32>(b + k + 4) - load<f32>(b + k));
      acc += load<f32>(row + (<usize>x << 2)) * (top + wy * (bot - top));
    }
    s += <f64>acc;
    n += x1 - x0;
  }
  return n > 0 ? s / Math.sqrt(<f64>n) : 0;
}

/**
 * dst = src (u16, rows x cols) turned by the angle whose cosine and sine are c and s, about the frame
 * centre, bilinear, same size; samples outside clamp to the border. Same arithmetic as
 * host/image/transform.ts rotate().
 */
export function wmRotate(src: usize, dst: usize, rows: i32, cols: i32, c: f64, s: f64): void {
  const cy = <f64>(rows - 1) / 2, cx = <f64>(cols - 1) / 2;
  const maxY = <f64>(rows - 1), maxX = <f64>(cols - 1);
  for (let y = 0; y < rows; y++) {
    const py = <f64>y - cy;
    for (let x = 0; x < cols; x++) {
      const px = <f64>x - cx;
      let fy = c * py - s * px + cy;
      let fx = s * py + c * px + cx;
      fy = fy < 0 ? 0 : (fy > maxY ? maxY : fy);
      fx = fx < 0 ? 0 : (fx > maxX ? maxX : fx);
      const y0 = <i32>fy, x0 = <i32>fx;
      const y1 = y0 + 1 < rows ? y0 + 1 : rows - 1, x1 = x0 + 1 < cols ? x0 + 1 : cols - 1;
      const wy = fy - <f64>y0, wx = fx - <f64>x0;
      const p00 = <f64>load<u16>(src + (<usize>(y0 * cols + x0) << 1)), p01 = <f64>load<u16>(src + (<usize>(y0 * cols + x1) << 1));
      const p10 = <f64>load<u16>(src + (<usize>(y1 * cols + x0) << 1)), p11 = <f64>load<u16>(src + (<usize>(y1 * cols + x1) << 1));
      const v = (1 - wy) * ((1 - wx) * p00 + wx * p01) + wy * ((1 - wx) * p10 + wx * p11);
      store<u16>(dst + (<usize>(y * cols + x) << 1), <u16>Math.floor(v + 0.5));
    }
  }
}
