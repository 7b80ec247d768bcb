// Keyed pseudo-noise layout of one watermark tile, derived from the 256-bit
// site watermark key with ChaCha20 (domain-separated subkeys).
//
// A tile is T x T chips. Every tile position j gets a sign s_j (+1/-1) and a
// role: -1 = pilot (known sign, used for presence and synchronisation) or
// k >= 0 = carries coded payload bit k. The layout is the same in every tile
// (the mark is periodic), which is what lets the detector fold the image onto
// one tile and find a crop offset by circular correlation.
import { chacha20Block, chacha20Stream } from './chacha20';

export const LABEL_SIGN: u32 = 0x4e474953; // "SIGN"
export const LABEL_PERM: u32 = 0x4d524550; // "PERM"

/**
 * Derives a 32-byte subkey: the first half of ChaCha20(key, counter 0,
 * nonce = "RSWM" || label || 0). `scratch` needs 76 bytes.
 */
export function wmDeriveKey(key: usize, label: u32, out: usize, scratch: usize): void {
  const nonce = scratch + 64;
  store<u32>(nonce, 0x4d575352, 0); // "RSWM"
  store<u32>(nonce, label, 4);
  store<u32>(nonce, 0, 8);
  chacha20Block(key, 0, nonce, scratch);
  memory.copy(out, scratch, 32);
}

/**
 * Builds the tile layout for `t2` positions: signs (i8, +1/-1) at `signOut`,
 * roles (i16) at `roleOut`: the first t2 - reps*nCoded positions of a keyed
 * permutation are pilots, the rest carry coded bit (k mod nCoded).
 * `scratch` needs 4*t2 + 192 bytes.
 */
export function wmLayout(key: usize, t2: i32, nCoded: i32, reps: i32, signOut: usize, roleOut: usize, scratch: usize): void {
  const sub = scratch;          // 32 bytes
  const nonce = scratch + 32;   // 12 bytes (zero)
  const tmp = scratch + 48;     // 76 bytes for wmDeriveKey
  const stream = scratch + 128; // max(4*t2, t2/8) bytes + 64 block
  const block = stream + <usize>(4 * t2);
  memory.fill(nonce, 0, 12);

  // Signs: one keystream bit per position.
  wmDeriveKey(key, LABEL_SIGN, sub, tmp);
  chacha20Stream(sub, nonce, 0, stream, <usize>((t2 + 7) >> 3), block);
  for (let j = 0; j < t2; j++) {
    const bit = (load<u8>(stream + <usize>(j >> 3)) >> <u8>(j & 7)) & 1;
    store<i8>(signOut + <usize>j, bit ? <i8>1 : <i8>-1);
  }

  // Roles: Fisher-Yates permutation driven by 32-bit keystream words
  // (multiply-shift range reduction; bias <= t2 / 2^32).
  wmDeriveKey(key, LABEL_PERM, sub, tmp);
  chacha20Stream(sub, nonce, 0, stream, <usize>(4 * t2), block);
  // Use roleOut as the permutation array first.
  for (let j = 0; j < t2; j++) store<i16>(roleOut + (<usize>j << 1), <i16>j);
  for (let i = t2 - 1; i > 0; i--) {
    const r = load<u32>(stream + (<usize>i << 2));
    const k = <i32>((<u64>r * <u64>(i + 1)) >>> 32);
    const a = load<i16>(roleOut + (<usize>i << 1));
    store<i16>(roleOut + (<usize>i << 1), load<i16>(roleOut + (<usize>k << 1)));
    store<i16>(roleOut + (<usize>k << 1), a);
  }
  // perm[i] = position; rewrite as role[position]. Reuse the stream buffer.
  const perm = stream;
  memory.copy(perm, roleOut, <usize>(2 * t2));
  const nPilot = t2 - reps * nCoded;
  for (let i = 0; i < t2; i++) {
    const pos = <usize>load<i16>(perm + (<usize>i << 1));
    const role = i < nPilot ? -1 : (i - nPilot) % nCoded;
    store<i16>(roleOut + (pos << 1), <i16>role);
  }
}
