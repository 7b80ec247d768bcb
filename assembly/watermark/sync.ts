// Synchronisation and decoding on the folded tile. The mark is periodic with
// a t x t chip tile, so after folding the residual onto one tile a crop only
// shows up as a circular shift of the tile, found here by correlating with the
// pilot pattern at every shift. Each score is a self-normalised correlation
// z = sum_j p_j F_{j+d} / sqrt(sum_j [p_j != 0] F_{j+d}^2): for any image that
// does not carry this key's mark the p_j are independent fair signs, so
// P(z >= u) <= exp(-u^2 / 2) (Hoeffding), the basis of the analytic threshold.

/**
 * pilotIdx: i32 list of the nP pilot positions, pilotSign: f32 signs for them.
 * For every shift d = (dy, dx) in the t x t tile writes z(d) to zOut (f32,
 * index dy*t + dx). Returns the index of the largest |z|.
 */
export function wmSyncSearch(folded: usize, t: i32, pilotIdx: usize, pilotSign: usize, nP: i32, zOut: usize): i32 {
  let best: i32 = 0;
  let bestAbs: f32 = -1;
  for (let dy = 0; dy < t; dy++) {
    for (let dx = 0; dx < t; dx++) {
      let num: f32 = 0, den: f32 = 0;
      for (let k = 0; k < nP; k++) {
        const j = load<i32>(pilotIdx + (<usize>k << 2));
        const jy = j / t, jx = j - jy * t;
        let y = jy + dy; if (y >= t) y -= t;
        let x = jx + dx; if (x >= t) x -= t;
        const f = load<f32>(folded + (<usize>(y * t + x) << 2));
        num += load<f32>(pilotSign + (<usize>k << 2)) * f;
        den += f * f;
      }
      const z: f32 = den > 0 ? num / Mathf.sqrt(den) : 0;
      const i = dy * t + dx;
      store<f32>(zOut + (<usize>i << 2), z);
      if (Mathf.abs(z) > bestAbs) { bestAbs = Mathf.abs(z); best = i; }
    }
  }
  return best;
}

/**
 * Pilot z at one shift and soft values of the coded bits:
 * soft[k] = sum over positions j with role k of s_j * F_{j+d}, divided by the
 * rms of F over the whole tile. Returns the pilot z.
 */
export function wmSoftBits(folded: usize, t: i32, dy: i32, dx: i32, sign: usize, role: usize, nCoded: i32, softOut: usize): f32 {
  memory.fill(softOut, 0, <usize>nCoded << 2);
  let num: f32 = 0, den: f32 = 0, all: f32 = 0;
  for (let jy = 0; jy < t; jy++) {
    let y = jy + dy; if (y >= t) y -= t;
    for (let jx = 0; jx < t; jx++) {
      let x = jx + dx; if (x >= t) x -= t;
      const f = load<f32>(folded + (<usize>(y * t + x) << 2));
      const j = <usize>(jy * t + jx);
      const s = <f32>load<i8>(sign + j);
      const r = <i32>load<i16>(role + (j << 1));
      all += f * f;
      if (r < 0) { num += s * f; den += f * f; } else {
        const q = softOut + (<usize>r << 2);
        store<f32>(q, load<f32>(q) + s * f);
      }
    }
  }
  const rms: f32 = all > 0 ? Mathf.sqrt(all / <f32>(t * t)) : 1;
  for (let k = 0; k < nCoded; k++) {
    const q = softOut + (<usize>k << 2);
    store<f32>(q, load<f32>(q) / rms);
  }
  return den > 0 ? num / Mathf.sqrt(den) : 0;
}
