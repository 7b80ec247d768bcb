// as-pect (AssemblyScript unit tests) for the WebAssembly core: `npm run test:core`.
// The specs compile with as-pect.asconfig.json (as-pect's own runtime and
// imports), separately from the zero-import release build of build/core.wasm.
export default {
  /** Spec files: one per primitive or group of primitives. */
  entries: ['test/assembly/**/*.spec.ts'],
  /** Files added to every spec compilation. */
  include: ['test/assembly/**/*.include.ts'],
  /** Never test what lives in node_modules. */
  disclude: [/node_modules/],
  /** The specs need no imports beyond as-pect's own. */
  async instantiate(memory, createImports, instantiate, binary) {
    return instantiate(binary, createImports({ env: { memory } }));
  },
  outputBinary: false,
};
