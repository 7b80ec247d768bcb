// The core's SHA-256 / SHA-512 against NIST CAVP vectors and node:crypto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Core, projectRoot } from '../../../host/core/wasm.js';
import { CoreHash, CoreSha256, CoreSha512, sha256, sha512 } from '../../../host/core/hash.js';

type Algo = 'sha256' | 'sha512';
const core = new Core();
const hasher = (algo: Algo, staging?: number): CoreHash =>
  algo === 'sha256' ? new CoreSha256(core, staging) : new CoreSha512(core, staging);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const nodeHash = (algo: Algo, data: Uint8Array): string => createHash(algo).update(data).digest('hex');

// ---- NIST CAVP .rsp files -------------------------------------------------

interface Record { [key: string]: string }

/** Splits a SHAVS response file into its `Key = value` records (blank-line separated). */
function readRsp(name: string): Record[] {
  const text = readFileSync(join(projectRoot(), 'test', 'vectors', name), 'latin1');
  const records: Record[] = [];
  let current: Record = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('[')) {
      if (Object.keys(current).length > 0) records.push(current);
      current = {};
      continue;
    }
    const m = /^(\w+)\s*=\s*(\w*)$/.exec(line);
    if (!m) throw new Error(`${name}: cannot parse line ${JSON.stringify(line)}`);
    current[m[1]!] = m[2]!;
  }
  if (Object.keys(current).length > 0) records.push(current);
  return records;
}

function checkMessages(algo: Algo, file: string, expected: number): void {
  const vectors = readRsp(file).filter((r) => r.Len !== undefined);
  assert.equal(vectors.length, expected, `${file}: vector count`);
  const h = hasher(algo);
  for (const v of vectors) {
    const bits = Number(v.Len);
    assert.equal(bits % 8, 0, `${file}: byte-oriented file expected`);
    // Len = 0 is written as Msg = 00: the length decides.
    const msg = Buffer.from(v.Msg!, 'hex').subarray(0, bits / 8);
    assert.equal(msg.length * 8, bits, `${file}: Msg shorter than Len ${bits}`);
    assert.equal(hex(h.reset().update(msg).digest()), v.MD!.toLowerCase(), `${file}: Len = ${bits}`);
  }
}

/** SHAVS Monte Carlo test: 100 checkpoints of 1000 chained hashes of MD[i-3] || MD[i-2] || MD[i-1]. */
function checkMonte(algo: Algo, file: string): void {
  const records = readRsp(file);
  const seedRecord = records.find((r) => r.Seed !== undefined);
  assert.ok(seedRecord, `${file}: no Seed`);
  const checkpoints = records.filter((r) => r.COUNT !== undefined);
  assert.equal(checkpoints.length, 100, `${file}: checkpoint count`);
  const h = hasher(algo);
  let seed = Buffer.from(seedRecord.Seed!, 'hex');
  for (let j = 0; j < 100; j++) {
    let md0: Uint8Array = seed, md1: Uint8Array = seed, md2: Uint8Array = seed;
    for (let i = 3; i < 1003; i++) {
      const next = h.reset().update(md0).update(md1).update(md2).digest();
      md0 = md1; md1 = md2; md2 = next;
    }
    seed = Buffer.from(md2);
    assert.equal(Number(checkpoints[j]!.COUNT), j, `${file}: COUNT order`);
    assert.equal(hex(seed), checkpoints[j]!.MD!.toLowerCase(), `${file}: COUNT = ${j}`);
  }
}

test('CAVP SHA256ShortMsg', () => checkMessages('sha256', 'SHA256ShortMsg.rsp', 65));
test('CAVP SHA256LongMsg', () => checkMessages('sha256', 'SHA256LongMsg.rsp', 64));
test('CAVP SHA256Monte', () => checkMonte('sha256', 'SHA256Monte.rsp'));
test('CAVP SHA512ShortMsg', () => checkMessages('sha512', 'SHA512ShortMsg.rsp', 129));
test('CAVP SHA512LongMsg', () => checkMessages('sha512', 'SHA512LongMsg.rsp', 128));
test('CAVP SHA512Monte', () => checkMonte('sha512', 'SHA512Monte.rsp'));

// ---- random inputs and chunk boundaries against node:crypto ---------------

/** xorshift32: reproducible randomness; the seed is printed so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 256) | 0;
  return out;
}

/** Random chunk lengths summing to n: single bytes, odd sizes, block-ish sizes, large runs. */
function chunks(rand: () => number, n: number, blockLen: number): number[] {
  const sizes: number[] = [];
  let left = n;
  while (left > 0) {
    const kind = rand();
    let size: number;
    if (kind < 0.2) size = 1;
    else if (kind < 0.5) size = 1 + ((rand() * 2 * blockLen) | 0);
    else if (kind < 0.7) size = blockLen * (1 + ((rand() * 4) | 0)) + ((rand() * 3) | 0) - 1;
    else if (kind < 0.9) size = 1 + ((rand() * 5000) | 0);
    else size = left;
    size = Math.max(1, Math.min(size, left));
    sizes.push(size);
    left -= size;
  }
  if (rand() < 0.1) sizes.splice((rand() * (sizes.length + 1)) | 0, 0, 0); // empty updates are allowed too
  return sizes;
}

const SEED = Number(process.env.RADSEAL_TEST_SEED ?? Date.now() % 2 ** 31);
console.log(`# hash.test: random seed ${SEED} (set RADSEAL_TEST_SEED to replay)`);

for (const algo of ['sha256', 'sha512'] as const) {
  test(`${algo}: 1200 random inputs, random chunking, update() and updateAt(), vs node:crypto`, () => {
    const rand = rng(SEED ^ (algo === 'sha256' ? 0x256 : 0x512));
    // A small staging buffer makes update() split inputs at its own odd boundaries too.
    const viaCopy = hasher(algo, 97);
    const inPlace = hasher(algo);
    const scratch = core.alloc(12_000);
    let mismatches = 0;
    for (let n = 0; n < 1200; n++) {
      const len = n < 300 ? n : (rand() * 10_001) | 0; // every length 0..299, then random up to 10000
      const data = randomBytes(rand, len);
      const want = nodeHash(algo, data);

      viaCopy.reset();
      let off = 0;
      for (const size of chunks(rand, len, viaCopy.blockLen)) {
        viaCopy.update(data.subarray(off, off + size));
        off += size;
      }
      const gotCopy = hex(viaCopy.digest());

      core.bytes(scratch, len).set(data);
      inPlace.reset();
      off = 0;
      for (const size of chunks(rand, len, inPlace.blockLen)) {
        inPlace.updateAt(scratch + off, size);
        off += size;
      }
      const gotInPlace = hex(inPlace.digest());

      if (gotCopy !== want || gotInPlace !== want) {
        mismatches++;
        assert.equal(gotCopy, want, `${algo} update(), length ${len}, seed ${SEED}`);
        assert.equal(gotInPlace, want, `${algo} updateAt(), length ${len}, seed ${SEED}`);
      }
    }
    assert.equal(mismatches, 0);
  });

  test(`${algo}: large inputs (1 MiB + 7, 5 MiB, one 3072x3072x2 frame) vs node:crypto`, () => {
    const rand = rng(SEED + 7);
    for (const len of [(1 << 20) + 7, 5 << 20, 3072 * 3072 * 2]) {
      const data = randomBytes(rand, len);
      const want = nodeHash(algo, data);
      // Whole in one call, in random pieces, and in place in core memory.
      assert.equal(hex(algo === 'sha256' ? sha256(data) : sha512(data)), want, `${algo} one-shot, length ${len}`);
      const h = hasher(algo);
      let off = 0;
      while (off < len) {
        const size = Math.min(len - off, 1 + ((rand() * 300_000) | 0));
        h.update(data.subarray(off, off + size));
        off += size;
      }
      assert.equal(hex(h.digest()), want, `${algo} chunked update(), length ${len}`);
      const mark = core.mark();
      const at = core.alloc(len);
      core.bytes(at, len).set(data);
      assert.equal(hex(hasher(algo).updateAt(at, len).digest()), want, `${algo} updateAt(), length ${len}`);
      core.release(mark);
    }
  });
}

test('known answers through the one-shots (FIPS 180 examples)', () => {
  const abc = new TextEncoder().encode('abc');
  assert.equal(hex(sha256(abc)), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(hex(sha512(abc)), 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f');
  assert.equal(hex(sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(hex(sha512(new Uint8Array(0))), 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e');
});

test('a finished hasher refuses more input until reset; updateAt checks its range', () => {
  const h = new CoreSha256(core);
  const first = hex(h.update(new Uint8Array([1, 2, 3])).digest());
  assert.throws(() => h.update(new Uint8Array([4])), /reset/);
  assert.throws(() => h.digest(), /reset/);
  assert.equal(hex(h.reset().update(new Uint8Array([1, 2, 3])).digest()), first);
  const size = core.memory.buffer.byteLength;
  assert.throws(() => new CoreSha512(core).updateAt(size - 10, 11), RangeError);
  assert.throws(() => new CoreSha512(core).updateAt(-1, 1), RangeError);
  assert.throws(() => new CoreSha256(core, 0), RangeError);
});
