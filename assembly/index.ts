// Entry point of the radseal WebAssembly core: re-exports every primitive.
// The core is pure compute: it imports nothing, allocates nothing, and works
// only on memory the host lays out (see host/core/).

/** First byte of linear memory the host may use for contexts and buffers. */
export function heapBase(): usize {
  return __heap_base;
}
export { sha256ContextSize, sha256Init, sha256Update, sha256Final } from './sha256';
export * from './sha512';
export { tileContextSize, tileSha256, tileGather } from './tiles';
export { u16MinMax } from './range';
export { chacha20Block, chacha20Xor, chacha20Stream } from './watermark/chacha20';
export { wmDeriveKey, wmLayout } from './watermark/pn';
export { wmChipStats, wmMask, wmAmplitudes } from './watermark/mask';
export { wmEmbed } from './watermark/embed';
export { wmChipMeans, wmResidual, wmFold, wmBlockScores, wmEdgeStats, wmEligible, wmLocalNormalize, wmFlip } from './watermark/detect';
export { wmSyncSearch, wmSoftBits } from './watermark/sync';
export { wmCrc16, wmConvEncode, wmViterbi } from './watermark/ecc';
export { wmFragileSetup, wmFragile } from './watermark/fragile';
export { wmLagCorr, wmRotate } from './watermark/rotate';
