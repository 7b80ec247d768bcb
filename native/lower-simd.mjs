#!/usr/bin/env node
// Lowers the 128-bit SIMD instructions of build/core.wasm to scalar i32/i64
// code, so that wasm2c from Debian wabt 1.0.32 (which aborts on any SIMD
// instruction) can translate the core to C. Same sources, same compiled
// module: only the SIMD instructions the core actually uses are rewritten,
// lane by lane, with their exact WebAssembly semantics; anything else SIMD is
// refused with an error naming it (so a new intrinsic in assembly/ fails the
// native build loudly instead of miscompiling).
//
//   node native/lower-simd.mjs build/core.wasm build/native/core.scalar.wasm
//
// Method (binaryen.js, the copy AssemblyScript already depends on):
//   1. flatten: every non-control expression's children become local.get or
//      const, so each SIMD op is the value of a local.set, a store or a drop;
//   2. every v128 local becomes four i32 locals (little-endian words w0..w3);
//      every SIMD statement becomes scalar statements over those words (after
//      flatten, tees, block results and br values are plain local.sets, so a
//      v128 only lives in locals; parameters and results: see vecSigs);
//   3. SIMD is switched off in the feature set, the module is validated (any
//      v128 left over is an error) and optimized (-O3, no fast-math).
import { readFileSync, writeFileSync } from 'node:fs';
import binaryenModule from 'binaryen';

const b = binaryenModule;
const [, , inPath, outPath] = process.argv;
if (!inPath || !outPath) {
  console.error('usage: lower-simd.mjs IN.wasm OUT.wasm');
  process.exit(2);
}

const mod = b.readBinary(readFileSync(inPath));
// The features asc emits (AssemblyScript 0.28 defaults) plus SIMD; the output drops SIMD.
const BASE = b.Features.MVP | b.Features.MutableGlobals | b.Features.SignExt | b.Features.NontrappingFPToInt | b.Features.BulkMemory | (b.Features.BulkMemoryOpt ?? 0) | (b.Features.CallIndirectOverlong ?? 0);
mod.setFeatures(BASE | b.Features.SIMD128);
mod.runPasses(['flatten']);

const I32 = b.i32, I64 = b.i64, V128 = b.v128;
const X = b.ExpressionIds;
let lowered = 0;

function fail(msg) {
  throw new Error(`lower-simd: ${msg}`);
}

// v128 parameters and results (a helper that was not inlined): the v128 keeps its slot as
// word 0 (retyped to i32, so no local index moves) and words 1..3 travel in mutable globals,
// set by the caller just before the call (its operands are flat, so nothing runs in between)
// and copied into locals by the callee on entry; a v128 result likewise. Globals serve all
// functions: the nth v128 parameter of any function uses the nth set.
const vecSigs = new Map(); // function name -> { vecParams: [param index], vecResult }
const wordGlobals = new Map();
function wordGlobal(key, k) {
  const name = `lower-simd$${key}.w${k}`;
  if (!wordGlobals.has(name)) { mod.addGlobal(name, I32, true, mod.i32.const(0)); wordGlobals.set(name, true); }
  return name;
}
const paramGlobal = (ordinal, k) => wordGlobal(`param${ordinal}`, k);
const resultGlobal = (k) => wordGlobal('result', k);

function lowerAll() {
 // Names first: removeFunction/addFunction below reorder the function list.
 const names = [];
 for (let fi = 0, nf = mod.getNumFunctions(); fi < nf; fi++) names.push(b.getFunctionInfo(mod.getFunctionByIndex(fi)).name);
 for (const fname of names) {
  const info = b.getFunctionInfo(mod.getFunction(fname));
  const params = b.expandType(info.params), results = b.expandType(info.results);
  if (!params.includes(V128) && !results.includes(V128)) continue;
  if (info.module) fail(`${fname}: imported function with a v128 parameter or result`);
  if (results.length > 1) fail(`${fname}: multi-value result with a v128`);
  vecSigs.set(fname, { vecParams: params.flatMap((t, i) => (t === V128 ? [i] : [])), vecResult: results[0] === V128 });
 }
 for (const fname of names) {
  const fref = mod.getFunction(fname);
  const info = b.getFunctionInfo(fref);
  if (info.module) continue; // imported (the core has none)
  const params = b.expandType(info.params);
  const vars = info.vars.slice();
  const nParams = params.length;
  const sig = vecSigs.get(fname);
  // No v128 local and no SIMD: nothing to do. (SIMD without v128 locals happens: a v128.store
  // of a constant, as in sha256x4Init; it is lowered like any other.)
  if (!sig && !vars.includes(V128) && !containsSimd(info.body)) continue;
  // Words of each v128 local: the local itself (retyped to i32) + 3 new ones.
  const words = new Map();
  const newVars = vars.map((t) => (t === V128 ? I32 : t));
  const addVar = (t) => { newVars.push(t); return nParams + newVars.length - 1; };
  const prologue = [];
  (sig?.vecParams ?? []).forEach((p, ordinal) => {
    const w = [p, addVar(I32), addVar(I32), addVar(I32)];
    words.set(p, w);
    for (let k = 1; k < 4; k++) prologue.push(mod.local.set(w[k], mod.global.get(paramGlobal(ordinal, k), I32)));
  });
  vars.forEach((t, i) => {
    if (t !== V128) return;
    const idx = nParams + i;
    words.set(idx, [idx, addVar(I32), addVar(I32), addVar(I32)]);
  });
  const tmp = [addVar(I32), addVar(I32), addVar(I32), addVar(I32)];
  const ctx = { words, tmp, name: info.name };
  let body = visit(info.body, ctx);
  if (prologue.length) body = mod.block(null, [...prologue, body], b.getExpressionType(body));
  const retype = (t) => b.createType(b.expandType(t).map((x) => (x === V128 ? I32 : x)));
  mod.removeFunction(info.name);
  mod.addFunction(info.name, retype(info.params), retype(info.results), newVars, body);
  lowered++;
 }
}

/** A call with v128 operands or result, as statements: words 1..3 through the globals. `dest`: the v128 local receiving the result, or a scalar local index, or null (dropped / no result). */
function lowerCall(call, dest, ctx) {
  const i = b.getExpressionInfo(call);
  const sig = vecSigs.get(i.target);
  const before = [];
  let ordinal = 0;
  const operands = i.operands.map((x) => {
    if (b.getExpressionType(x) !== V128) return copy(x, ctx);
    const w = vecOperand(x, ctx);
    for (let k = 1; k < 4; k++) before.push(mod.global.set(paramGlobal(ordinal, k), w(k)));
    ordinal++;
    return w(0);
  });
  const resultType = sig.vecResult ? I32 : i.type;
  const lowCall = mod.call(i.target, operands, resultType);
  if (!sig.vecResult) {
    const stmt = dest === null ? (resultType === b.none ? lowCall : mod.drop(lowCall)) : mod.local.set(dest, lowCall);
    return mod.block(null, [...before, stmt], b.none);
  }
  const w = dest === null ? ctx.tmp : ctx.words.get(dest);
  return mod.block(null, [
    ...before,
    mod.local.set(w[0], lowCall),
    ...[1, 2, 3].map((k) => mod.local.set(w[k], mod.global.get(resultGlobal(k), I32))),
  ], b.none);
}
const isVecCall = (x) => b.getExpressionId(x) === X.Call && vecSigs.has(b.getExpressionInfo(x).target);

function containsSimd(e) {
  let found = false;
  const walk = (x) => {
    if (!x || found) return;
    if (b.getExpressionType(x) === V128) { found = true; return; }
    const id = b.getExpressionId(x);
    if (id === X.Store && b.getExpressionInfo(x).valueType === V128) { found = true; return; }
    for (const c of children(x)) walk(c);
  };
  walk(e);
  return found;
}

const LEAVES = new Set([X.Nop, X.Unreachable, X.LocalGet, X.GlobalGet, X.Const, X.MemorySize, X.DataDrop]);
function children(x) {
  const id = b.getExpressionId(x);
  if (LEAVES.has(id)) return [];
  let i;
  try { i = b.getExpressionInfo(x); } catch { throw new Error(`lower-simd: cannot inspect expression id ${id}: ${b.emitText(x).slice(0, 120)}`); }
  switch (i.id) {
    case X.Block: return i.children;
    case X.If: return [i.condition, i.ifTrue, i.ifFalse];
    case X.Loop: return [i.body];
    case X.Break: return [i.condition, i.value];
    case X.Switch: return [i.condition, i.value];
    case X.Call: return i.operands;
    case X.LocalSet: return [i.value];
    case X.GlobalSet: return [i.value];
    case X.Load: return [i.ptr];
    case X.Store: return [i.ptr, i.value];
    case X.Unary: return [i.value];
    case X.Binary: return [i.left, i.right];
    case X.Select: return [i.ifTrue, i.ifFalse, i.condition];
    case X.Drop: return [i.value];
    case X.Return: return [i.value];
    case X.MemoryGrow: return [i.delta];
    case X.MemoryCopy: return [i.dest, i.source, i.size];
    case X.MemoryFill: return [i.dest, i.value, i.size];
    case X.MemoryInit: return [i.dest, i.offset, i.size];
    case X.SIMDExtract: return [i.vec];
    case X.SIMDReplace: return [i.vec, i.value];
    case X.SIMDShuffle: return [i.left, i.right];
    case X.SIMDTernary: return [i.a, i.b, i.c];
    case X.SIMDShift: return [i.vec, i.shift];
    case X.SIMDLoad: return [i.ptr];
    default: return [];
  }
}

/** Rewrites statement `e` (and the statements nested in it); returns its replacement. */
function visit(e, ctx) {
  if (!e) return e;
  const id = b.getExpressionId(e);
  if (id === X.Block) {
    const n = b.Block.getNumChildren(e);
    for (let i = 0; i < n; i++) b.Block.setChildAt(e, i, visit(b.Block.getChildAt(e, i), ctx));
    return e;
  }
  if (id === X.If) {
    b.If.setIfTrue(e, visit(b.If.getIfTrue(e), ctx));
    const f = b.If.getIfFalse(e);
    if (f) b.If.setIfFalse(e, visit(f, ctx));
    checkScalar(b.If.getCondition(e), ctx);
    return e;
  }
  if (id === X.Loop) {
    b.Loop.setBody(e, visit(b.Loop.getBody(e), ctx));
    return e;
  }
  if (id === X.LocalSet) {
    const i = b.getExpressionInfo(e);
    if (i.isTee) { if (ctx.words.has(i.index) || isSimd(i.value)) fail(`${ctx.name}: v128 local.tee after flatten`); return e; }
    if (isVecCall(i.value)) return lowerCall(i.value, i.index, ctx);
    const dest = ctx.words.get(i.index);
    if (dest) {
      // v128 value into four words, through temporaries (the source may be the destination).
      const w = vecValue(i.value, ctx);
      return mod.block(null, [
        ...w.map((x, k) => mod.local.set(ctx.tmp[k], x)),
        ...dest.map((d, k) => mod.local.set(d, mod.local.get(ctx.tmp[k], I32))),
      ], b.none);
    }
    if (isSimd(i.value)) return mod.local.set(i.index, scalarValue(i.value, ctx));
    checkScalar(i.value, ctx);
    return e;
  }
  if (id === X.Store) {
    const i = b.getExpressionInfo(e);
    if (i.valueType !== V128) { checkScalar(e, ctx); return e; }
    const w = vecValue(i.value, ctx);
    // Words first (the pointer is a local.get or const after flatten, so order is free).
    return mod.block(null, [
      ...w.map((x, k) => mod.local.set(ctx.tmp[k], x)),
      ...[0, 1, 2, 3].map((k) => mod.i32.store(i.offset + 4 * k, Math.min(i.align, 4), copy(i.ptr, ctx), mod.local.get(ctx.tmp[k], I32))),
    ], b.none);
  }
  if (isVecCall(e)) return lowerCall(e, null, ctx);
  if (id === X.Return) {
    const value = b.Return.getValue(e);
    if (!value || b.getExpressionType(value) !== V128) { checkScalar(e, ctx); return e; }
    const w = vecOperand(value, ctx);
    return mod.block(null, [...[1, 2, 3].map((k) => mod.global.set(resultGlobal(k), w(k))), mod.return(w(0))], b.none);
  }
  if (id === X.Drop) {
    const i = b.getExpressionInfo(e);
    if (isVecCall(i.value)) return lowerCall(i.value, null, ctx);
    if (b.getExpressionType(i.value) === V128) {
      if (b.getExpressionId(i.value) === X.LocalGet || b.getExpressionId(i.value) === X.Const) return mod.nop();
      // Computed and discarded: still evaluated, since a load in it may trap.
      return mod.block(null, vecValue(i.value, ctx).map((x, k) => mod.local.set(ctx.tmp[k], x)), b.none);
    }
    if (isSimd(i.value)) return mod.drop(scalarValue(i.value, ctx));
    checkScalar(e, ctx);
    return e;
  }
  checkScalar(e, ctx);
  return e;
}

function isSimd(x) {
  const id = b.getExpressionId(x);
  return b.getExpressionType(x) === V128 || id === X.SIMDExtract || id === X.SIMDShuffle || id === X.SIMDReplace ||
    id === X.SIMDTernary || id === X.SIMDShift || id === X.SIMDLoad || (id === X.Unary && b.getExpressionType(b.Unary.getValue(x)) === V128);
}

function checkScalar(x, ctx) {
  if (containsSimd(x)) fail(`${ctx.name}: unsupported SIMD use in ${b.emitText(x).slice(0, 200)}`);
}

/** A fresh copy of a flat operand (local.get or const). */
function copy(x, ctx) {
  const i = b.getExpressionInfo(x);
  if (i.id === X.LocalGet) return mod.local.get(i.index, i.type);
  if (i.id === X.Const) {
    if (i.type === I32) return mod.i32.const(i.value);
    if (i.type === I64) return mod.i64.const(i.value.low ?? i.value, i.value.high ?? 0);
    if (i.type === b.f32) return mod.f32.const(i.value);
    if (i.type === b.f64) return mod.f64.const(i.value);
  }
  fail(`${ctx.name}: operand is not a local.get or const after flatten: ${b.emitText(x).slice(0, 120)}`);
}

/** Word k (0..3) of a flat v128 operand, as a fresh i32 expression maker. */
function vecOperand(x, ctx) {
  const i = b.getExpressionInfo(x);
  if (i.type !== V128) fail(`${ctx.name}: expected a v128 operand, got ${b.emitText(x).slice(0, 120)}`);
  if (i.id === X.LocalGet) {
    const w = ctx.words.get(i.index);
    if (!w) fail(`${ctx.name}: v128 operand from local ${i.index}, which is not a v128 local of the function`);
    return (k) => mod.local.get(w[k], I32);
  }
  if (i.id === X.Const && i.type === V128) {
    const bytes = i.value; // 16 bytes, little-endian
    const word = (k) => (bytes[4 * k] | (bytes[4 * k + 1] << 8) | (bytes[4 * k + 2] << 16) | (bytes[4 * k + 3] << 24)) | 0;
    return (k) => mod.i32.const(word(k));
  }
  fail(`${ctx.name}: v128 operand is ${b.emitText(x).slice(0, 120)}`);
}

const c32 = (v) => mod.i32.const(v | 0);
// i16 lane j (0..7) of a word maker, zero- or sign-extended to i32.
function lane16u(w, j) {
  const x = w(j >> 1);
  return j & 1 ? mod.i32.shr_u(x, c32(16)) : mod.i32.and(x, c32(0xffff));
}
function lane16s(w, j) {
  const x = w(j >> 1);
  return j & 1 ? mod.i32.shr_s(x, c32(16)) : mod.i32.extend16_s(x);
}
function pack16(lo, hi) {
  return mod.i32.or(mod.i32.and(lo, c32(0xffff)), mod.i32.shl(hi, c32(16)));
}
function byteOf(w, j) {
  return mod.i32.and(mod.i32.shr_u(w(j >> 2), c32(8 * (j & 3))), c32(0xff));
}
// i64 lane (0..1) from words.
function lane64(w, j) {
  return mod.i64.or(mod.i64.extend_u(w(2 * j)), mod.i64.shl(mod.i64.extend_u(w(2 * j + 1)), mod.i64.const(32, 0)));
}
// f32 lane k of a word maker, and an f32 result back into a word (bit patterns kept).
const f32lane = (w, k) => mod.f32.reinterpret(w(k));
const f32word = (f) => mod.i32.reinterpret(f);
/** Per-i16-lane op: f(laneA, laneB) gives the (low 16 bits of the) result lane. */
function map16(a, bb, f, signed = false) {
  const L = signed ? lane16s : lane16u;
  return [0, 1, 2, 3].map((k) => pack16(f(L(a, 2 * k), bb && L(bb, 2 * k)), f(L(a, 2 * k + 1), bb && L(bb, 2 * k + 1))));
}
const mask16 = (cond) => mod.select(cond, c32(0xffff), c32(0)); // binaryen.js: select(condition, ifTrue, ifFalse)

/** The four result words of a v128-typed flat expression. */
function vecValue(x, ctx) {
  const i = b.getExpressionInfo(x);
  switch (i.id) {
    case X.LocalGet:
    case X.Const: {
      const w = vecOperand(x, ctx);
      return [0, 1, 2, 3].map(w);
    }
    case X.Load: {
      if (i.type !== V128 || i.bytes !== 16) fail(`${ctx.name}: unexpected v128 load`);
      return [0, 1, 2, 3].map((k) => mod.i32.load(i.offset + 4 * k, Math.min(i.align, 4), copy(i.ptr, ctx)));
    }
    case X.SIMDLoad: {
      const word = (k) => mod.i32.load(i.offset + 4 * k, Math.min(i.align, 4), copy(i.ptr, ctx));
      if (i.op === b.Load32ZeroVec128) return [word(0), c32(0), c32(0), c32(0)];
      if (i.op === b.Load64ZeroVec128) return [word(0), word(1), c32(0), c32(0)];
      if (i.op === b.Load32SplatVec128) return [word(0), word(0), word(0), word(0)];
      if (i.op === b.Load64SplatVec128) return [word(0), word(1), word(0), word(1)];
      break;
    }
    case X.Select: {
      // After flatten the condition is a local.get or const, so it can be read once per word.
      const a = vecOperand(i.ifTrue, ctx), c = vecOperand(i.ifFalse, ctx);
      return [0, 1, 2, 3].map((k) => mod.select(copy(i.condition, ctx), a(k), c(k)));
    }
    case X.Unary: {
      // Splats take a scalar operand; every other unary op a v128 one.
      if (i.op === b.SplatVecI16x8) {
        // (v & 0xffff) * 0x10001 repeats the low 16 bits in both halves.
        return [0, 1, 2, 3].map(() => mod.i32.mul(mod.i32.and(copy(i.value, ctx), c32(0xffff)), c32(0x10001)));
      }
      if (i.op === b.SplatVecI32x4) return [0, 1, 2, 3].map(() => copy(i.value, ctx));
      if (i.op === b.SplatVecF32x4) return [0, 1, 2, 3].map(() => f32word(copy(i.value, ctx)));
      if (b.getExpressionType(i.value) !== V128) break;
      const a = vecOperand(i.value, ctx);
      const f4 = (f) => [0, 1, 2, 3].map((k) => f32word(f(f32lane(a, k))));
      if (i.op === b.SqrtVecF32x4) return f4((p) => mod.f32.sqrt(p));
      if (i.op === b.AbsVecF32x4) return f4((p) => mod.f32.abs(p));
      if (i.op === b.NegVecF32x4) return f4((p) => mod.f32.neg(p));
      if (i.op === b.ConvertSVecI32x4ToVecF32x4) return [0, 1, 2, 3].map((k) => f32word(mod.f32.convert_s.i32(a(k))));
      if (i.op === b.ConvertUVecI32x4ToVecF32x4) return [0, 1, 2, 3].map((k) => f32word(mod.f32.convert_u.i32(a(k))));
      if (i.op === b.TruncSatSVecF32x4ToVecI32x4) return [0, 1, 2, 3].map((k) => mod.i32.trunc_s_sat.f32(f32lane(a, k)));
      if (i.op === b.TruncSatUVecF32x4ToVecI32x4) return [0, 1, 2, 3].map((k) => mod.i32.trunc_u_sat.f32(f32lane(a, k)));
      if (i.op === b.NotVec128) return [0, 1, 2, 3].map((k) => mod.i32.xor(a(k), c32(-1)));
      if (i.op === b.NegVecI32x4) return [0, 1, 2, 3].map((k) => mod.i32.sub(c32(0), a(k)));
      if (i.op === b.ExtendLowSVecI16x8ToVecI32x4) return [0, 1, 2, 3].map((k) => lane16s(a, k));
      if (i.op === b.ExtendHighSVecI16x8ToVecI32x4) return [0, 1, 2, 3].map((k) => lane16s(a, 4 + k));
      if (i.op === b.ExtAddPairwiseUVecI16x8ToI32x4) return [0, 1, 2, 3].map((k) => mod.i32.add(lane16u(a, 2 * k), lane16u(a, 2 * k + 1)));
      if (i.op === b.ExtendLowUVecI16x8ToVecI32x4) return [0, 1, 2, 3].map((k) => lane16u(a, k));
      if (i.op === b.ExtendHighUVecI16x8ToVecI32x4) return [0, 1, 2, 3].map((k) => lane16u(a, 4 + k));
      break;
    }
    case X.Binary: {
      const a = vecOperand(i.left, ctx), c = vecOperand(i.right, ctx);
      const w4 = (f) => [0, 1, 2, 3].map((k) => f(a(k), c(k)));
      const m32 = (cond) => mod.select(cond, c32(-1), c32(0));
      const I = mod.i32, F = mod.f32;
      // Scalar f32 ops have the lane semantics of the f32x4 ones (NaN propagation, -0 < +0 in min/max).
      const f4 = (f) => w4((p, q) => f32word(f(F.reinterpret(p), F.reinterpret(q))));
      const fm = (cmp) => w4((p, q) => m32(cmp(F.reinterpret(p), F.reinterpret(q))));
      switch (i.op) {
        case b.AddVecF32x4: return f4((p, q) => F.add(p, q));
        case b.SubVecF32x4: return f4((p, q) => F.sub(p, q));
        case b.MulVecF32x4: return f4((p, q) => F.mul(p, q));
        case b.DivVecF32x4: return f4((p, q) => F.div(p, q));
        case b.MinVecF32x4: return f4((p, q) => F.min(p, q));
        case b.MaxVecF32x4: return f4((p, q) => F.max(p, q));
        case b.EqVecF32x4: return fm((p, q) => F.eq(p, q));
        case b.NeVecF32x4: return fm((p, q) => F.ne(p, q));
        case b.LtVecF32x4: return fm((p, q) => F.lt(p, q));
        case b.GtVecF32x4: return fm((p, q) => F.gt(p, q));
        case b.LeVecF32x4: return fm((p, q) => F.le(p, q));
        case b.GeVecF32x4: return fm((p, q) => F.ge(p, q));
        case b.DotSVecI16x8ToVecI32x4:
          return [0, 1, 2, 3].map((k) => I.add(I.mul(lane16s(a, 2 * k), lane16s(c, 2 * k)), I.mul(lane16s(a, 2 * k + 1), lane16s(c, 2 * k + 1))));
        case b.AndVec128: return w4((p, q) => I.and(p, q));
        case b.OrVec128: return w4((p, q) => I.or(p, q));
        case b.XorVec128: return w4((p, q) => I.xor(p, q));
        case b.AndNotVec128: return w4((p, q) => I.and(p, I.xor(q, c32(-1))));
        case b.AddVecI32x4: return w4((p, q) => I.add(p, q));
        case b.SubVecI32x4: return w4((p, q) => I.sub(p, q));
        case b.MulVecI32x4: return w4((p, q) => I.mul(p, q));
        case b.EqVecI32x4: return w4((p, q) => m32(I.eq(p, q)));
        case b.NeVecI32x4: return w4((p, q) => m32(I.ne(p, q)));
        case b.LtSVecI32x4: return w4((p, q) => m32(I.lt_s(p, q)));
        case b.LtUVecI32x4: return w4((p, q) => m32(I.lt_u(p, q)));
        case b.GtSVecI32x4: return w4((p, q) => m32(I.gt_s(p, q)));
        case b.GtUVecI32x4: return w4((p, q) => m32(I.gt_u(p, q)));
        case b.LeSVecI32x4: return w4((p, q) => m32(I.le_s(p, q)));
        case b.LeUVecI32x4: return w4((p, q) => m32(I.le_u(p, q)));
        case b.GeSVecI32x4: return w4((p, q) => m32(I.ge_s(p, q)));
        case b.GeUVecI32x4: return w4((p, q) => m32(I.ge_u(p, q)));
        case b.MinSVecI32x4: return w4((p, q) => sel(p, q, I.le_s));
        case b.MinUVecI32x4: return w4((p, q) => sel(p, q, I.le_u));
        case b.MaxSVecI32x4: return w4((p, q) => sel(p, q, I.ge_s));
        case b.MaxUVecI32x4: return w4((p, q) => sel(p, q, I.ge_u));
        case b.AddVecI16x8: return map16(a, c, (p, q) => I.add(p, q));
        case b.SubVecI16x8: return map16(a, c, (p, q) => I.sub(p, q));
        case b.MulVecI16x8: return map16(a, c, (p, q) => I.mul(p, q));
        case b.EqVecI16x8: return map16(a, c, (p, q) => mask16(I.eq(p, q)));
        case b.NeVecI16x8: return map16(a, c, (p, q) => mask16(I.ne(p, q)));
        case b.LtSVecI16x8: return map16(a, c, (p, q) => mask16(I.lt_s(p, q)), true);
        case b.LtUVecI16x8: return map16(a, c, (p, q) => mask16(I.lt_u(p, q)));
        case b.GtSVecI16x8: return map16(a, c, (p, q) => mask16(I.gt_s(p, q)), true);
        case b.GtUVecI16x8: return map16(a, c, (p, q) => mask16(I.gt_u(p, q)));
        case b.LeSVecI16x8: return map16(a, c, (p, q) => mask16(I.le_s(p, q)), true);
        case b.LeUVecI16x8: return map16(a, c, (p, q) => mask16(I.le_u(p, q)));
        case b.GeSVecI16x8: return map16(a, c, (p, q) => mask16(I.ge_s(p, q)), true);
        case b.GeUVecI16x8: return map16(a, c, (p, q) => mask16(I.ge_u(p, q)));
        case b.MinSVecI16x8: return map16(a, c, (p, q) => sel(p, q, I.le_s), true);
        case b.MinUVecI16x8: return map16(a, c, (p, q) => sel(p, q, I.le_u));
        case b.MaxSVecI16x8: return map16(a, c, (p, q) => sel(p, q, I.ge_s), true);
        case b.MaxUVecI16x8: return map16(a, c, (p, q) => sel(p, q, I.ge_u));
        case b.SubSatUVecI16x8: return map16(a, c, (p, q) => satsub(p, q));
        case b.AddSatUVecI16x8: return map16(a, c, (p, q) => { const r = I.add(p, q); return sel(mod.copyExpression(r), c32(0xffff), I.le_u, r); });
        case b.AvgrUVecI16x8: return map16(a, c, (p, q) => I.shr_u(I.add(I.add(p, q), c32(1)), c32(1)));
        case b.AddVecI64x2: return split64([0, 1].map((j) => () => mod.i64.add(lane64(a, j), lane64(c, j))));
        case b.SubVecI64x2: return split64([0, 1].map((j) => () => mod.i64.sub(lane64(a, j), lane64(c, j))));
        case b.ExtMulLowUVecI64x2:
        case b.ExtMulHighUVecI64x2: {
          const base = i.op === b.ExtMulLowUVecI64x2 ? 0 : 2;
          return split64([0, 1].map((j) => () => mod.i64.mul(mod.i64.extend_u(a(base + j)), mod.i64.extend_u(c(base + j)))));
        }
      }
      break;
    }
    case X.SIMDShift: {
      const a = vecOperand(i.vec, ctx);
      const n32 = () => mod.i32.and(copy(i.shift, ctx), c32(31)), n16 = () => mod.i32.and(copy(i.shift, ctx), c32(15));
      if (i.op === b.ShlVecI32x4) return [0, 1, 2, 3].map((k) => mod.i32.shl(a(k), n32()));
      if (i.op === b.ShrSVecI32x4) return [0, 1, 2, 3].map((k) => mod.i32.shr_s(a(k), n32()));
      if (i.op === b.ShrUVecI32x4) return [0, 1, 2, 3].map((k) => mod.i32.shr_u(a(k), n32()));
      if (i.op === b.ShlVecI16x8) return map16(a, null, (p) => mod.i32.shl(p, n16()));
      if (i.op === b.ShrSVecI16x8) return map16(a, null, (p) => mod.i32.shr_s(p, n16()), true);
      if (i.op === b.ShrUVecI16x8) return map16(a, null, (p) => mod.i32.shr_u(p, n16()));
      break;
    }
    case X.SIMDReplace: {
      const a = vecOperand(i.vec, ctx);
      if (i.op === b.ReplaceLaneVecI32x4) return [0, 1, 2, 3].map((k) => (k === i.index ? copy(i.value, ctx) : a(k)));
      if (i.op === b.ReplaceLaneVecF32x4) return [0, 1, 2, 3].map((k) => (k === i.index ? f32word(copy(i.value, ctx)) : a(k)));
      if (i.op === b.ReplaceLaneVecI16x8) {
        return [0, 1, 2, 3].map((k) => (k === i.index >> 1
          ? (i.index & 1 ? pack16(lane16u(a, 2 * k), copy(i.value, ctx)) : pack16(copy(i.value, ctx), lane16u(a, 2 * k + 1)))
          : a(k)));
      }
      break;
    }
    case X.SIMDShuffle: {
      const a = vecOperand(i.left, ctx), c = vecOperand(i.right, ctx);
      const m = i.mask;
      const src = (j) => (j < 16 ? [a, j] : [c, j - 16]);
      const half = (h) => {
        const j0 = m[2 * h], j1 = m[2 * h + 1];
        if ((j0 & 1) === 0 && j1 === j0 + 1) { const [w, j] = src(j0); return lane16u(w, j >> 1); }
        const [w0, k0] = src(j0), [w1, k1] = src(j1);
        return mod.i32.or(byteOf(w0, k0), mod.i32.shl(byteOf(w1, k1), c32(8)));
      };
      return [0, 1, 2, 3].map((k) => pack16(half(2 * k), half(2 * k + 1)));
    }
  }
  fail(`${ctx.name}: SIMD operation not lowered: id ${i.id} op ${i.op}: ${b.emitText(x).slice(0, 200)}`);
}

// min/max/saturating-sub use each lane twice: the lane expressions are pure
// (shifts and masks of local.gets), so they are duplicated with copyExpression.
/** cmp(p, q) ? p : q (min with le, max with ge); `r` replaces p as the chosen value when given. */
function sel(p, q, cmp, r) {
  const p2 = mod.copyExpression(p), q2 = mod.copyExpression(q);
  return mod.select(cmp(p2, q2), r ?? p, q);
}
function satsub(p, q) {
  const p2 = mod.copyExpression(p), q2 = mod.copyExpression(q);
  return mod.select(mod.i32.gt_u(p2, q2), mod.i32.sub(p, q), c32(0));
}
function split64(lanes) {
  return [mod.i32.wrap(lanes[0]()), mod.i32.wrap(mod.i64.shr_u(lanes[0](), mod.i64.const(32, 0))),
    mod.i32.wrap(lanes[1]()), mod.i32.wrap(mod.i64.shr_u(lanes[1](), mod.i64.const(32, 0)))];
}

/** Scalar-typed SIMD expressions (extract_lane, all_true). */
function scalarValue(x, ctx) {
  const i = b.getExpressionInfo(x);
  if (i.id === X.SIMDExtract) {
    const a = vecOperand(i.vec, ctx);
    if (i.op === b.ExtractLaneUVecI16x8) return lane16u(a, i.index);
    if (i.op === b.ExtractLaneSVecI16x8) return lane16s(a, i.index);
    if (i.op === b.ExtractLaneVecI32x4) return a(i.index);
    if (i.op === b.ExtractLaneVecI64x2) return lane64(a, i.index);
    if (i.op === b.ExtractLaneVecF32x4) return f32lane(a, i.index);
  }
  if (i.id === X.Unary && i.op === b.AnyTrueVec128) {
    const a = vecOperand(i.value, ctx);
    return mod.i32.ne(mod.i32.or(mod.i32.or(a(0), a(1)), mod.i32.or(a(2), a(3))), c32(0));
  }
  if (i.id === X.Unary && i.op === b.AllTrueVecI32x4) {
    const a = vecOperand(i.value, ctx);
    return [1, 2, 3].reduce((acc, k) => mod.i32.and(acc, mod.i32.ne(a(k), c32(0))), mod.i32.ne(a(0), c32(0)));
  }
  if (i.id === X.Unary && i.op === b.AllTrueVecI16x8) {
    const a = vecOperand(i.value, ctx);
    let acc = null;
    for (let j = 0; j < 8; j++) {
      const nz = mod.i32.ne(lane16u(a, j), c32(0));
      acc = acc ? mod.i32.and(acc, nz) : nz;
    }
    return acc;
  }
  fail(`${ctx.name}: SIMD operation not lowered: id ${i.id} op ${i.op}: ${b.emitText(x).slice(0, 200)}`);
}

lowerAll();
mod.setFeatures(BASE);
if (!mod.validate()) fail('lowered module does not validate (a v128 value is left, or a rewrite is wrong)');
b.setOptimizeLevel(3);
b.setShrinkLevel(0);
mod.optimize();
if (!mod.validate()) fail('optimized module does not validate');
writeFileSync(outPath, mod.emitBinary());
console.error(`lower-simd: ${lowered} functions lowered -> ${outPath}`);
