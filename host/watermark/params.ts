// Fixed parameters of radseal watermark format 1 (see docs/WATERMARK.md).

/** Chip: the watermark changes each 8x8 pixel cell by one dithered level. */
export const CHIP = 8;
/** The pattern repeats every TILE x TILE chips (256 x 256 pixels). */
export const TILE = 32;
export const TILE2 = TILE * TILE;
/** Host payload: 64 bits (device id, frame serial, ...). */
export const PAYLOAD_BYTES = 8;
/** Content tag: 32 bits of a coarse, robust image descriptor. */
export const TAG_BITS = 32;
export const CRC_BITS = 16;
export const INFO_BITS = PAYLOAD_BYTES * 8 + TAG_BITS + CRC_BITS; // 112
export const CODE_K = 7;
export const CODED_BITS = 3 * (INFO_BITS + CODE_K - 1); // 354
/** Each coded bit occupies REPS positions of the tile; the rest are pilots. */
export const REPS = 2;
export const PILOTS = TILE2 - REPS * CODED_BITS; // 316
/** Tamper map block: 64 pixels = 8 chips. */
export const BLOCK_CHIPS = 8;
/** Default fidelity: PSNR target (dB) at the stored bit depth; never below 58. */
export const DEFAULT_PSNR_DB = 59;
export const MIN_PSNR_DB = 58;
/** Perceptual mask range (relative amplitude). */
export const MASK_LO = 0.5;
export const MASK_HI = 2.0;
/** Residual clip, in multiples of the mean absolute residual. */
export const CLIP_K = 3;
/** Total false-positive budget of one detection call. */
export const FPR_TARGET = 1e-6;
