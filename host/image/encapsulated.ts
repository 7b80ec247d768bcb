// One frame of encapsulated (compressed) Pixel Data decoded back to native pixels, so that verify
// can compare a copy a PACS transcoded after signing with the pixels the device sealed. The codecs
// are the ones web viewers decode DICOM with (Cornerstone, OHIF): CharLS for JPEG-LS, OpenJPEG for
// JPEG 2000, jpeg-lossless-decoder-js for JPEG Lossless (process 14). RLE Lossless (PS3.5 Annex G)
// is a few lines of PackBits with no maintained Node package, so it is written here.
//
// The codecs' WebAssembly is compiled and instantiated synchronously (the verifier is synchronous),
// once per process, and only when a compressed copy of a native seal is met. Before a codec runs,
// the frame's size as its own header declares it must be the data set's Rows x Columns, and the
// frame no larger than the caller allows: a stream cannot make a decoder allocate for a larger
// image than the object says it holds.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { transferSyntaxName } from '../dicom/transfer-syntax.js';

/** What the data set says the frame is. Single-sample (grayscale) frames only. */
export interface FrameGeometry {
  rows: number;
  cols: number;
  /** 8 or 16. */
  bitsAllocated: number;
  samplesPerPixel: number;
}

/** Native little-endian pixel bytes of the frame (rows x cols x bitsAllocated/8), and what decoded them; or why not. */
export type DecodedFrame = { pixels: Uint8Array; decoder: string } | { problem: string };

type Codec = (stream: Uint8Array, g: FrameGeometry) => Uint8Array;

const require = createRequire(import.meta.url);

/** The transfer syntaxes decoded here, with the codec that reads each. */
const CODECS: ReadonlyMap<string, { decoder: string; decode: Codec }> = new Map([
  ['1.2.840.10008.1.2.4.57', { decoder: 'jpeg-lossless-decoder-js', decode: decodeJpegLossless }],
  ['1.2.840.10008.1.2.4.70', { decoder: 'jpeg-lossless-decoder-js', decode: decodeJpegLossless }],
  ['1.2.840.10008.1.2.4.80', { decoder: 'CharLS', decode: decodeJpegLs }],
  ['1.2.840.10008.1.2.4.81', { decoder: 'CharLS', decode: decodeJpegLs }],
  ['1.2.840.10008.1.2.4.90', { decoder: 'OpenJPEG', decode: decodeJpeg2000 }],
  ['1.2.840.10008.1.2.4.91', { decoder: 'OpenJPEG', decode: decodeJpeg2000 }],
  ['1.2.840.10008.1.2.5', { decoder: 'radseal RLE', decode: decodeRle }],
]);

/**
 * The one frame that `fragments` (the basic offset table first, as the reader gives them) encode,
 * as native little-endian bytes, when they are at most `maxBytes` (the reader's limit on what a
 * deflated data set may inflate to). Never throws: a stream a codec refuses is a problem to report.
 */
export function decodeSingleFrame(transferSyntax: string, fragments: readonly Uint8Array[], g: FrameGeometry, maxBytes: number): DecodedFrame {
  const codec = CODECS.get(transferSyntax);
  if (!codec) return { problem: `radseal has no decoder for ${transferSyntaxName(transferSyntax)} (${transferSyntax})` };
  if (fragments.length < 2) return { problem: 'Pixel Data holds no compressed frame' };
  if (g.samplesPerPixel !== 1 || (g.bitsAllocated !== 8 && g.bitsAllocated !== 16) || g.rows < 1 || g.cols < 1) {
    return { problem: `only single-sample frames of 8 or 16 bits are decoded (${g.samplesPerPixel} sample(s), ${g.bitsAllocated} bits allocated)` };
  }
  const expected = g.rows * g.cols * (g.bitsAllocated / 8);
  if (expected > maxBytes) return { problem: `a ${g.cols}x${g.rows} frame is ${expected} bytes decoded, more than the ${maxBytes} radseal decodes` };
  const body = fragments.slice(1);
  const stream = body.length === 1 ? body[0]! : Buffer.concat(body);
  try {
    const pixels = codec.decode(stream, g);
    if (pixels.length !== expected) return { problem: `${codec.decoder} gave ${pixels.length} bytes, the frame has ${expected}` };
    return { pixels, decoder: codec.decoder };
  } catch (err) {
    return { problem: `${codec.decoder} could not decode the stream: ${(err as Error).message}` };
  }
}

/** The frame's size from the first SOF marker of a JPEG or JPEG-LS stream (ITU T.81 B.2.2, T.87 C.2.2). */
function sofDimensions(s: Uint8Array): { rows: number; cols: number; precision: number; components: number } {
  if (s[0] !== 0xff || s[1] !== 0xd8) throw new Error('no JPEG start-of-image marker');
  for (let at = 2; at + 4 <= s.length;) {
    if (s[at] !== 0xff) throw new Error(`no marker at byte ${at}`);
    const marker = s[at + 1]!;
    if (marker === 0xff) { at++; continue; }
    const length = (s[at + 2]! << 8) | s[at + 3]!;
    const isSof = (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) || marker === 0xf7;
    if (isSof) {
      if (at + 10 > s.length) break;
      return { precision: s[at + 4]!, rows: (s[at + 5]! << 8) | s[at + 6]!, cols: (s[at + 7]! << 8) | s[at + 8]!, components: s[at + 9]! };
    }
    if (marker === 0xda) break; // a scan before any frame header
    at += 2 + length;
  }
  throw new Error('no frame header (SOF) before the first scan');
}

function checkDeclared(declared: { rows: number; cols: number }, g: FrameGeometry, what: string): void {
  if (declared.rows !== g.rows || declared.cols !== g.cols) {
    throw new Error(`the ${what} declares ${declared.cols}x${declared.rows} pixels, the data set ${g.cols}x${g.rows}`);
  }
}

/** A decoder's samples as native little-endian bytes of `bitsAllocated`. */
function nativeBytes(samples: ArrayLike<number> & { length: number }, bitsAllocated: number): Uint8Array {
  if (bitsAllocated === 8) return Uint8Array.from(samples);
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) view.setUint16(i * 2, samples[i]!, true);
  return out;
}

function decodeJpegLossless(stream: Uint8Array, g: FrameGeometry): Uint8Array {
  const sof = sofDimensions(stream);
  checkDeclared(sof, g, 'JPEG frame header');
  if (sof.components !== 1) throw new Error(`${sof.components} components in the JPEG frame`);
  const { Decoder } = require('jpeg-lossless-decoder-js') as { Decoder: new () => { decode(b: ArrayBuffer, offset: number, length: number, numBytes: number): ArrayLike<number> & { length: number } } };
  const copy = new Uint8Array(stream); // its own ArrayBuffer (a Buffer's slice() is a view of a shared one)
  const samples = new Decoder().decode(copy.buffer, 0, copy.length, g.bitsAllocated / 8);
  return nativeBytes(samples, g.bitsAllocated);
}

interface EmscriptenDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
  decode(): void;
  delete(): void;
}

/**
 * An Emscripten codec module, instantiated synchronously (instantiateWasm): its classes are on the
 * module object when the factory returns, the runtime having started within the call.
 */
function emscripten<T>(factoryPath: string, wasmPath: string): T {
  const factory = require(factoryPath) as (m: object) => Promise<unknown>;
  const module = new WebAssembly.Module(readFileSync(require.resolve(wasmPath)));
  const m: Record<string, unknown> = {
    instantiateWasm(imports: WebAssembly.Imports, done: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) {
      const instance = new WebAssembly.Instance(module, imports);
      done(instance, module);
      return instance.exports;
    },
    print: () => undefined,
    printErr: () => undefined,
  };
  void factory(m).catch(() => undefined);
  return m as T;
}

/**
 * One Emscripten codec's decoder, its module made on first use; a module whose decoder threw is
 * dropped, since one that aborted stays aborted: the next frame gets a new one.
 */
function lazyDecoder(factoryPath: string, wasmPath: string, className: string): (stream: Uint8Array, g: FrameGeometry, what: string) => Uint8Array {
  let module: Record<string, new () => EmscriptenDecoder> | undefined;
  return (stream, g, what) => {
    const codec = (module ??= emscripten<Record<string, new () => EmscriptenDecoder>>(factoryPath, wasmPath));
    try {
      return runDecoder(new codec[className]!(), stream, g, what);
    } catch (err) {
      module = undefined;
      throw err;
    }
  };
}

const charls = lazyDecoder('@cornerstonejs/codec-charls/decodewasmjs', '@cornerstonejs/codec-charls/decodewasm', 'JpegLSDecoder');
const openjpeg = lazyDecoder('@cornerstonejs/codec-openjpeg/decodewasmjs', '@cornerstonejs/codec-openjpeg/decodewasm', 'J2KDecoder');

/** Runs an Emscripten decoder on `stream` and returns a copy of its output (its memory is reused). */
function runDecoder(d: EmscriptenDecoder, stream: Uint8Array, g: FrameGeometry, what: string): Uint8Array {
  try {
    d.getEncodedBuffer(stream.length).set(stream);
    d.decode();
    const info = d.getFrameInfo();
    checkDeclared({ rows: info.height, cols: info.width }, g, what);
    if (info.componentCount !== 1) throw new Error(`${info.componentCount} components in the ${what}`);
    if ((info.bitsPerSample > 8) !== (g.bitsAllocated === 16)) throw new Error(`${info.bitsPerSample}-bit samples in the ${what}, the data set allocates ${g.bitsAllocated} bits`);
    return new Uint8Array(d.getDecodedBuffer()); // out of the codec's memory, which its next call reuses
  } finally {
    d.delete();
  }
}

function decodeJpegLs(stream: Uint8Array, g: FrameGeometry): Uint8Array {
  checkDeclared(sofDimensions(stream), g, 'JPEG-LS frame header');
  return charls(stream, g, 'JPEG-LS frame header');
}

function decodeJpeg2000(stream: Uint8Array, g: FrameGeometry): Uint8Array {
  // A raw codestream (PS3.5 A.4.4): SOC then SIZ. A JP2 file wrapper is not what DICOM carries.
  if (stream.length < 42 || stream[0] !== 0xff || stream[1] !== 0x4f || stream[2] !== 0xff || stream[3] !== 0x51) throw new Error('not a JPEG 2000 codestream (no SOC and SIZ markers)');
  // SIZ (ITU T.800 A.5.1): image width and height are Xsiz - XOsiz and Ysiz - YOsiz; Csiz components.
  const dv = new DataView(stream.buffer, stream.byteOffset, stream.length);
  checkDeclared({ cols: dv.getUint32(8) - dv.getUint32(16), rows: dv.getUint32(12) - dv.getUint32(20) }, g, 'JPEG 2000 image size (SIZ)');
  if (dv.getUint16(40) !== 1) throw new Error(`${dv.getUint16(40)} components in the JPEG 2000 codestream`);
  return openjpeg(stream, g, 'JPEG 2000 codestream');
}

/** RLE Lossless (PS3.5 G.3): a 64-byte header of segment offsets, then one PackBits segment per byte plane, most significant first. */
function decodeRle(stream: Uint8Array, g: FrameGeometry): Uint8Array {
  if (stream.length < 64) throw new Error('shorter than the 64-byte RLE header');
  const dv = new DataView(stream.buffer, stream.byteOffset, stream.length);
  const planes = g.bitsAllocated / 8;
  const segments = dv.getUint32(0, true);
  if (segments !== planes) throw new Error(`${segments} RLE segments, a frame of ${g.bitsAllocated}-bit samples has ${planes}`);
  const pixels = g.rows * g.cols;
  const out = new Uint8Array(pixels * planes);
  for (let s = 0; s < segments; s++) {
    const start = dv.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? dv.getUint32(8 + 4 * s, true) : stream.length;
    if (start < 64 || end < start || end > stream.length) throw new Error(`RLE segment ${s + 1} lies outside the stream (${start}..${end})`);
    // Segment s holds byte (planes - 1 - s) of each little-endian sample.
    const byte = planes - 1 - s;
    let n = 0;
    for (let at = start; at < end && n < pixels;) {
      const h = (stream[at++]! << 24) >> 24;
      if (h >= 0) {
        if (at + h + 1 > end || n + h + 1 > pixels) throw new Error(`RLE segment ${s + 1} overruns its frame`);
        for (let k = 0; k <= h; k++) out[(n++) * planes + byte] = stream[at++]!;
      } else if (h !== -128) {
        if (at >= end || n - h + 1 > pixels) throw new Error(`RLE segment ${s + 1} overruns its frame`);
        const v = stream[at++]!;
        for (let k = 0; k < 1 - h; k++) out[(n++) * planes + byte] = v;
      }
    }
    if (n !== pixels) throw new Error(`RLE segment ${s + 1} holds ${n} of the frame's ${pixels} samples`);
  }
  return out;
}
