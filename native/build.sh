#!/usr/bin/env bash
# Builds the radseal core as native code, without JavaScript at run time:
#   build/core.wasm --(native/lower-simd.mjs)--> build/native/core.scalar.wasm
#     --(wasm2c)--> build/native/core.c + core.h --(cc)--> build/native/radseal-native
# Debian wabt 1.0.32's wasm2c aborts on SIMD instructions, so the SIMD ones the
# core uses are first lowered to scalar WebAssembly (same module otherwise;
# test/host/core/native.test.ts checks both builds agree bit for bit on Node).
#
# Environment (all optional):
#   CORE=build/core.wasm     the WebAssembly core (npm run build:core)
#   OUT=build/native         output folder (gitignored)
#   WASM2C=wasm2c            Debian wabt
#   WASM_RT_DIR=/usr/share/wabt/wasm2c   wasm-rt-impl.c / wasm-rt-impl.h
#   WASM_RT_INCLUDE=/usr/include         wasm-rt.h
#   CC=gcc  CFLAGS=-O2       e.g. CC=aarch64-linux-gnu-gcc for an ARM capture board
set -euo pipefail
cd "$(dirname "$0")/.."

CORE=${CORE:-build/core.wasm}
OUT=${OUT:-build/native}
WASM2C=${WASM2C:-wasm2c}
WASM_RT_DIR=${WASM_RT_DIR:-/usr/share/wabt/wasm2c}
WASM_RT_INCLUDE=${WASM_RT_INCLUDE:-/usr/include}
CC=${CC:-gcc}
CFLAGS=${CFLAGS:--O2}

[[ -f $CORE ]] || { echo "native/build.sh: $CORE missing; run npm run build:core" >&2; exit 1; }
mkdir -p "$OUT"
node native/lower-simd.mjs "$CORE" "$OUT/core.scalar.wasm"
"$WASM2C" "$OUT/core.scalar.wasm" -n core -o "$OUT/core.c"
# -ffp-contract=off: no fused multiply-add, so double arithmetic in the harness
# (content tag, gain search) rounds exactly as JavaScript does. No -ffast-math.
FLAGS=($CFLAGS -std=gnu11 -ffp-contract=off -fno-fast-math -I "$OUT" -I "$WASM_RT_DIR" -I "$WASM_RT_INCLUDE")
"$CC" "${FLAGS[@]}" -w -c "$OUT/core.c" -o "$OUT/core.o"              # generated code: its warnings are wasm2c's
"$CC" "${FLAGS[@]}" -w -c "$WASM_RT_DIR/wasm-rt-impl.c" -o "$OUT/wasm-rt-impl.o"
"$CC" "${FLAGS[@]}" -Wall -Wextra -Wno-unused-parameter -c native/harness.c -o "$OUT/harness.o"
"$CC" "$OUT/harness.o" "$OUT/core.o" "$OUT/wasm-rt-impl.o" -lm -o "$OUT/radseal-native"
echo "native/build.sh: $OUT/radseal-native"
