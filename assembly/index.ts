// Entry point of the radseal WebAssembly core: re-exports every primitive.
// The core is pure compute: it imports nothing, allocates nothing, and works
// only on memory the host lays out (see host/core/).

/** First byte of linear memory the host may use for contexts and buffers. */
export function heapBase(): usize {
  return __heap_base;
}
export * from './sha256';
export * from './sha512';
