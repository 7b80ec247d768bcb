// Smallest and largest value of a run of uint16 pixels: the frame's used range, for the
// default VOI window and the bits-stored check, taken where the frame lies in core memory.

/**
 * Min and max of the `count` little-endian uint16 values at `pixels`, packed as
 * `min | max << 16`. An empty run gives min 0xffff and max 0 (max below min).
 * Eight lanes per v128 and four accumulators, so the loop runs at memory speed.
 */
export function u16MinMax(pixels: usize, count: u32): u32 {
  let lo0 = i16x8.splat(-1), lo1 = lo0, lo2 = lo0, lo3 = lo0;
  let hi0 = i16x8.splat(0), hi1 = hi0, hi2 = hi0, hi3 = hi0;
  const end = pixels + (<usize>count << 1);
  const blockEnd = pixels + ((<usize>count >> 5) << 6); // 32 pixels per step
  let p = pixels;
  for (; p < blockEnd; p += 64) {
    const a = v128.load(p), b = v128.load(p, 16), c = v128.load(p, 32), d = v128.load(p, 48);
    lo0 = i16x8.min_u(lo0, a); hi0 = i16x8.max_u(hi0, a);
    lo1 = i16x8.min_u(lo1, b); hi1 = i16x8.max_u(hi1, b);
    lo2 = i16x8.min_u(lo2, c); hi2 = i16x8.max_u(hi2, c);
    lo3 = i16x8.min_u(lo3, d); hi3 = i16x8.max_u(hi3, d);
  }
  const lo = i16x8.min_u(i16x8.min_u(lo0, lo1), i16x8.min_u(lo2, lo3));
  const hi = i16x8.max_u(i16x8.max_u(hi0, hi1), i16x8.max_u(hi2, hi3));
  let min = lowestLane(lo);
  let max = highestLane(hi);
  for (; p < end; p += 2) {
    const v = <u32>load<u16>(p);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min | (max << 16);
}

// Lane indices must be constants, hence the unrolled folds.
function lowestLane(v: v128): u32 {
  const a = min(<u32>i16x8.extract_lane_u(v, 0), <u32>i16x8.extract_lane_u(v, 1));
  const b = min(<u32>i16x8.extract_lane_u(v, 2), <u32>i16x8.extract_lane_u(v, 3));
  const c = min(<u32>i16x8.extract_lane_u(v, 4), <u32>i16x8.extract_lane_u(v, 5));
  const d = min(<u32>i16x8.extract_lane_u(v, 6), <u32>i16x8.extract_lane_u(v, 7));
  return min(min(a, b), min(c, d));
}

function highestLane(v: v128): u32 {
  const a = max(<u32>i16x8.extract_lane_u(v, 0), <u32>i16x8.extract_lane_u(v, 1));
  const b = max(<u32>i16x8.extract_lane_u(v, 2), <u32>i16x8.extract_lane_u(v, 3));
  const c = max(<u32>i16x8.extract_lane_u(v, 4), <u32>i16x8.extract_lane_u(v, 5));
  const d = max(<u32>i16x8.extract_lane_u(v, 6), <u32>i16x8.extract_lane_u(v, 7));
  return max(max(a, b), max(c, d));
}
