// The watermark core passes this revision rewrote or added, against plain JavaScript references on
// random data: border steps (SIMD dot product across vertical chip borders, 16-bit values, odd
// offsets), local normalisation (sliding sums, SIMD), the rotation search's lag correlation and turn-back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ex, f32, put, wmCore } from '../../../host/watermark/core.js';
import { rotate, xorshift } from '../../../host/image/transform.js';

const rand = xorshift(7);

test('border steps at chip borders equal the per-pixel formula (16-bit values, odd offsets)', () => {
  const rows = 203, cols = 317, oy = 3, ox = 5;
  const px = new Uint16Array(rows * cols).map(() => Math.floor(rand() * 65536));
  const core = wmCore(), w = ex(core), m0 = core.mark();
  try {
    const gr = Math.floor((rows - oy) / 8), gc = Math.floor((cols - ox) / 8);
    const o = core.alloc(4 * gr * gc);
    w.wmEdgeStats(put(core, px), rows, cols, 8, oy, ox, gr, gc, o);
    const got = f32(core, o, gr * gc);
    const P = (y: number, x: number) => px[y * cols + x]!;
    for (let cy = 0; cy < gr; cy++) for (let cx = 0; cx < gc; cx++) {
      const y0 = oy + 8 * cy, x0 = ox + 8 * cx, yb = y0 + 7, xb = x0 + 7;
      let s = 0, n = 0;
      if (y0 >= 2 && y0 + 1 < rows) { for (let k = 0; k < 8; k++) s += 3 * (P(y0, x0 + k) - P(y0 - 1, x0 + k)) - (P(y0 + 1, x0 + k) - P(y0 - 2, x0 + k)); n += 8; }
      if (yb + 2 < rows) { for (let k = 0; k < 8; k++) s += 3 * (P(yb, x0 + k) - P(yb + 1, x0 + k)) - (P(yb - 1, x0 + k) - P(yb + 2, x0 + k)); n += 8; }
      if (x0 >= 2 && x0 + 1 < cols) { for (let k = 0; k < 8; k++) s += 3 * (P(y0 + k, x0) - P(y0 + k, x0 - 1)) - (P(y0 + k, x0 + 1) - P(y0 + k, x0 - 2)); n += 8; }
      if (xb + 2 < cols) { for (let k = 0; k < 8; k++) s += 3 * (P(y0 + k, xb) - P(y0 + k, xb + 1)) - (P(y0 + k, xb - 1) - P(y0 + k, xb + 2)); n += 8; }
      const want = s / n;
      assert.ok(Math.abs(got[cy * gc + cx]! - want) <= 1e-6 * Math.max(1, Math.abs(want)), `chip ${cy},${cx}: ${got[cy * gc + cx]} vs ${want}`);
    }
  } finally { core.release(m0); }
});

test('local normalisation equals the 5 x 5 window formula (borders clipped), including widths not a multiple of 4', () => {
  for (const [gr, gc, scale] of [[37, 53, 100], [5, 4, 100], [9, 1, 100], [21, 30, 0.02]] as const) {
    // scale 0.02: values at the 1/64-LSB level of a flat region, where the floor decides
    const m = new Float32Array(gr * gc).map(() => (rand() - 0.5) * scale * (1 + 10 * rand()));
    const core = wmCore(), w = ex(core), m0 = core.mark();
    try {
      const q = put(core, m);
      w.wmLocalNormalize(q, gr, gc, 3, core.alloc(8 * gr * gc), -1);
      const r = f32(core, q, gr * gc);
      let tot = 0;
      for (const v of m) tot += v * v;
      const eps = Math.max((tot / m.length) * 1e-4, 0.05); // the floor: flat regions stay near 0
      for (let y = 0; y < gr; y++) for (let x = 0; x < gc; x++) {
        let s = 0, c = 0;
        for (let yy = Math.max(0, y - 2); yy <= Math.min(gr - 1, y + 2); yy++) {
          let hs = 0, hc = 0;
          for (let xx = Math.max(0, x - 2); xx <= Math.min(gc - 1, x + 2); xx++) { hs += m[yy * gc + xx]! ** 2; hc++; }
          s += hs / hc; c++;
        }
        const want = Math.max(-3, Math.min(3, m[y * gc + x]! / Math.sqrt(s / c + eps)));
        assert.ok(Math.abs(r[y * gc + x]! - want) < 1e-5, `${gr}x${gc} at ${y},${x}: ${r[y * gc + x]} vs ${want}`);
      }
    } finally { core.release(m0); }
  }
});

test('lag correlation equals the bilinear-sampled sum, and the turn-back gives the same pixels as transform.rotate', () => {
  const gr = 41, gc = 67;
  const map = new Float32Array(gr * gc).map(() => rand() - 0.5);
  const core = wmCore(), w = ex(core), m0 = core.mark();
  try {
    const p = put(core, map);
    for (const [dy, dx, step] of [[3.3, -7.6, 1], [-2.25, 31.9, 2], [0, 0, 1], [40.5, 0, 1]] as const) {
      let s = 0, n = 0;
      for (let y = 0; y < gr; y += step) {
        const sy = y + dy;
        if (sy < 0 || sy >= gr - 1) continue;
        const y0 = Math.floor(sy), wy = sy - y0;
        for (let x = 0; x < gc; x++) {
          const sx = x + dx;
          if (sx < 0 || sx >= gc - 1) continue;
          const x0 = Math.floor(sx), wx = sx - x0, i = y0 * gc + x0;
          s += map[y * gc + x]! * ((1 - wy) * ((1 - wx) * map[i]! + wx * map[i + 1]!) + wy * ((1 - wx) * map[i + gc]! + wx * map[i + gc + 1]!));
          n++;
        }
      }
      const want = n ? s / Math.sqrt(n) : 0;
      assert.ok(Math.abs(w.wmLagCorr(p, gr, gc, dy, dx, step) - want) < 1e-4, `lag ${dy},${dx}`);
    }
    const img = { rows: 97, cols: 131, bitsStored: 16, pixels: new Uint16Array(97 * 131).map(() => Math.floor(rand() * 65536)) };
    for (const deg of [2.7, -5.9, 0.3]) {
      const src = put(core, img.pixels), dst = core.alloc(2 * img.pixels.length);
      const t = (deg * Math.PI) / 180;
      w.wmRotate(src, dst, img.rows, img.cols, Math.cos(t), Math.sin(t));
      assert.deepEqual(new Uint16Array(core.memory.buffer, dst, img.pixels.length).slice(), rotate(img, deg).pixels, `${deg}°`);
    }
  } finally { core.release(m0); }
});
