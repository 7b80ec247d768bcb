// Published SHA-256 / SHA-512 vectors (FIPS 180-2 appendix examples, the
// empty string, one million 'a') and chunk-boundary cases, run inside the core;
// every input alignment, and the two algorithms interleaved (their message
// schedules share static scratch memory). The full NIST CAVP sets and node:crypto
// comparisons run on the host: test/host/core/hash.test.ts, hash-lengths.test.ts.
import { sha256ContextSize, sha256Init, sha256Update, sha256Final } from '../../assembly/sha256';
import { sha512ContextSize, sha512Init, sha512Update, sha512Final } from '../../assembly/sha512';

// Contexts and digests live in static memory: the core itself never allocates.
const CTX: usize = memory.data(256, 16);
const OUT: usize = memory.data(64, 16);

const MSG448 = 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq';
const MSG896 = 'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu';

function toHex(ptr: usize, len: i32): string {
  const digits = '0123456789abcdef';
  let s = '';
  for (let i = 0; i < len; i++) {
    const b = load<u8>(ptr + <usize>i);
    s += digits.charAt(b >> 4) + digits.charAt(b & 15);
  }
  return s;
}

/** Hashes `len` bytes at `ptr`, fed in pieces of `chunk` bytes (0 = all at once). */
function digestOf(algo: i32, ptr: usize, len: usize, chunk: usize): string {
  if (algo == 256) sha256Init(CTX); else sha512Init(CTX);
  const step = chunk == 0 ? max<usize>(len, 1) : chunk;
  for (let off: usize = 0; off < len; off += step) {
    const n = min(step, len - off);
    if (algo == 256) sha256Update(CTX, ptr + off, n); else sha512Update(CTX, ptr + off, n);
  }
  if (algo == 256) sha256Final(CTX, OUT); else sha512Final(CTX, OUT);
  return toHex(OUT, algo == 256 ? 32 : 64);
}

function hashText(algo: i32, text: string, chunk: usize = 0): string {
  const bytes = String.UTF8.encode(text);
  return digestOf(algo, changetype<usize>(bytes), <usize>bytes.byteLength, chunk);
}

/** Hashes `count` copies of `len` bytes of 'a', one update per copy. */
function hashRepeatedA(algo: i32, len: i32, count: i32): string {
  const block = new StaticArray<u8>(len);
  for (let i = 0; i < len; i++) block[i] = 0x61;
  const ptr = changetype<usize>(block);
  if (algo == 256) sha256Init(CTX); else sha512Init(CTX);
  for (let i = 0; i < count; i++) {
    if (algo == 256) sha256Update(CTX, ptr, <usize>len); else sha512Update(CTX, ptr, <usize>len);
  }
  if (algo == 256) sha256Final(CTX, OUT); else sha512Final(CTX, OUT);
  return toHex(OUT, algo == 256 ? 32 : 64);
}

describe('SHA-256', () => {
  it('reserves a context that fits the static slot', () => {
    expect(sha256ContextSize()).toBeLessThanOrEqual(256);
    expect(sha256ContextSize()).toBeGreaterThanOrEqual(32 + 64 + 8 + 4);
  });
  it('hashes the empty string', () => {
    expect(hashText(256, '')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
  it('hashes "abc"', () => {
    expect(hashText(256, 'abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
  it('hashes the 448-bit two-block example', () => {
    expect(hashText(256, MSG448)).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });
  it('hashes the 896-bit example', () => {
    expect(hashText(256, MSG896)).toBe('cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1');
  });
  it("hashes one million 'a'", () => {
    expect(hashRepeatedA(256, 1000, 1000)).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });
  it("gives the same digest for one million 'a' fed 1, 64 and 4000 bytes at a time", () => {
    const want = 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0';
    expect(hashRepeatedA(256, 1, 1000000)).toBe(want);
    expect(hashRepeatedA(256, 64, 15625)).toBe(want);
    expect(hashRepeatedA(256, 4000, 250)).toBe(want);
  });
  it('gives the same digest for every chunk size across the padding boundaries', () => {
    // 55/56/63/64/65 bytes straddle the one- vs two-block padding cases.
    const lens: usize[] = [55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000];
    const data = new StaticArray<u8>(1000);
    for (let i = 0; i < 1000; i++) data[i] = <u8>(i * 31 + 7);
    const ptr = changetype<usize>(data);
    for (let l = 0; l < lens.length; l++) {
      const whole = digestOf(256, ptr, lens[l], 0);
      for (let chunk: usize = 1; chunk <= 130; chunk++) {
        expect(digestOf(256, ptr, lens[l], chunk)).toBe(whole);
      }
    }
    // And the whole-message digests are the right ones for the 448-bit example split oddly.
    expect(hashText(256, MSG448, 1)).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    expect(hashText(256, MSG448, 55)).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });
  it('can be re-initialised after final', () => {
    expect(hashText(256, 'abc')).toBe(hashText(256, 'abc'));
    expect(hashText(256, 'abd')).not.toBe(hashText(256, 'abc'));
  });
});

describe('SHA-512', () => {
  it('reserves a context that fits the static slot', () => {
    expect(sha512ContextSize()).toBeLessThanOrEqual(256);
    expect(sha512ContextSize()).toBeGreaterThanOrEqual(64 + 128 + 8 + 4);
  });
  it('hashes the empty string', () => {
    expect(hashText(512, '')).toBe('cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e');
  });
  it('hashes "abc"', () => {
    expect(hashText(512, 'abc')).toBe('ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f');
  });
  it('hashes the 448-bit example', () => {
    expect(hashText(512, MSG448)).toBe('204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445');
  });
  it('hashes the 896-bit two-block example', () => {
    expect(hashText(512, MSG896)).toBe('8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909');
  });
  it("hashes one million 'a'", () => {
    expect(hashRepeatedA(512, 1000, 1000)).toBe('e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b');
  });
  it("gives the same digest for one million 'a' fed 1, 125 and 4000 bytes at a time", () => {
    const want = 'e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b';
    expect(hashRepeatedA(512, 1, 1000000)).toBe(want);
    expect(hashRepeatedA(512, 125, 8000)).toBe(want);
    expect(hashRepeatedA(512, 4000, 250)).toBe(want);
  });
  it('gives the same digest for every chunk size across the padding boundaries', () => {
    // 111/112/127/128/129 bytes straddle the one- vs two-block padding cases.
    const lens: usize[] = [111, 112, 113, 127, 128, 129, 239, 240, 255, 256, 257, 1000];
    const data = new StaticArray<u8>(1000);
    for (let i = 0; i < 1000; i++) data[i] = <u8>(i * 31 + 7);
    const ptr = changetype<usize>(data);
    for (let l = 0; l < lens.length; l++) {
      const whole = digestOf(512, ptr, lens[l], 0);
      for (let chunk: usize = 1; chunk <= 260; chunk++) {
        expect(digestOf(512, ptr, lens[l], chunk)).toBe(whole);
      }
    }
    expect(hashText(512, MSG896, 1)).toBe('8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909');
    expect(hashText(512, MSG896, 111)).toBe('8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909');
  });
});

describe('SHA-256 and SHA-512 together', () => {
  it('give the published digests when their updates are interleaved byte by byte', () => {
    // Both schedules write static scratch (W + K): each block must rewrite all of it first.
    const CTX2: usize = memory.data(256, 16);
    const OUT2: usize = memory.data(64, 16);
    const a = String.UTF8.encode(MSG896);
    const b = String.UTF8.encode(MSG448);
    const pa = changetype<usize>(a), pb = changetype<usize>(b);
    sha512Init(CTX2);
    sha256Init(CTX);
    const n = max(a.byteLength, b.byteLength);
    for (let i = 0; i < n; i++) {
      if (i < a.byteLength) sha512Update(CTX2, pa + <usize>i, 1);
      if (i < b.byteLength) sha256Update(CTX, pb + <usize>i, 1);
    }
    sha256Final(CTX, OUT);
    sha512Final(CTX2, OUT2);
    expect(toHex(OUT, 32)).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    expect(toHex(OUT2, 64)).toBe('8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909');
  });
  it('give the same digest at every input alignment (the schedule loads 16 bytes at a time)', () => {
    const data = new StaticArray<u8>(700);
    for (let i = 0; i < 700; i++) data[i] = <u8>(i * 131 + 17);
    const base = changetype<usize>(data);
    const lens: usize[] = [0, 1, 55, 56, 64, 111, 112, 128, 200, 383, 640];
    for (let l = 0; l < lens.length; l++) {
      const want256 = digestOf(256, base, lens[l], 0);
      const want512 = digestOf(512, base, lens[l], 0);
      for (let off: usize = 1; off < 16; off++) {
        const moved = new StaticArray<u8>(<i32>(lens[l] + 16));
        const p = changetype<usize>(moved) + off;
        memory.copy(p, base, lens[l]);
        expect(digestOf(256, p, lens[l], 0)).toBe(want256);
        expect(digestOf(512, p, lens[l], 0)).toBe(want512);
      }
    }
  });
});
