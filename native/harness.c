/*
 * radseal native harness: runs the radseal WebAssembly core, translated to C
 * by wasm2c, without JavaScript. It does on a capture-adjacent device what
 * the Node host does with build/core.wasm:
 *
 *   - places the frame in the core's linear memory (a bump arena from
 *     heapBase(), 16-byte aligned, as host/core/wasm.ts does);
 *   - SHA-256 and SHA-512 of the frame bytes, streamed in pieces
 *     (sha256Init/Update/Final, sha512Init/Update/Final);
 *   - the per-tile SHA-256 table (tileSha256, one band of tile rows a call);
 *   - the watermark embed of host/watermark/index.ts embedWatermark():
 *     chip statistics, content tag, CRC-16 + convolutional code, keyed
 *     layout, perceptual mask, gain search, SIMD embed pass, fragile layer.
 *     The host-side arithmetic of that function (content-tag DCT, gain
 *     search, PSNR bookkeeping) is reproduced here step for step in IEEE
 *     double precision; test/host/core/native.test.ts checks the marked
 *     frame is bit-identical to Node's;
 *   - SHA-256 of the marked frame.
 *
 * usage: radseal-native FRAME.raw ROWS COLS BITS KEYFILE PAYLOAD_HEX OUTDIR
 *                       [--tile N] [--piece BYTES] [--psnr DB] [--no-fragile]
 *                       [--budget BYTES] [--repeat N]
 * FRAME.raw: rows*cols little-endian uint16; KEYFILE: the 32-byte site
 * watermark key (mode 0600 or stricter); PAYLOAD_HEX: up to 8 bytes.
 * Writes OUTDIR/result.json, OUTDIR/tiles.bin (32 bytes per tile, row-major)
 * and OUTDIR/marked.raw.
 *
 * Constants below mirror host/watermark/params.ts and host/watermark/core.ts;
 * the harness prints them in result.json and the test compares them.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core.h"
#include "wasm-rt-impl.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846 /* == Math.PI */
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the harness reads and writes core memory directly: little-endian hosts only"
#endif

/* host/watermark/params.ts */
#define CHIP 8
#define TILE 32
#define TILE2 (TILE * TILE)
#define PAYLOAD_BYTES 8
#define TAG_BITS 32
#define CRC_BITS 16
#define INFO_BITS (PAYLOAD_BYTES * 8 + TAG_BITS + CRC_BITS)
#define CODE_K 7
#define CODED_BITS (3 * (INFO_BITS + CODE_K - 1))
#define REPS 2
#define PILOTS (TILE2 - REPS * CODED_BITS)
#define DEFAULT_PSNR_DB 59.0
#define MIN_PSNR_DB 58.0
#define MASK_LO 0.5f
#define MASK_HI 2.0f
/* host/watermark/core.ts */
#define FRAG_CTX_BYTES 16480
#define FRAG_SCRATCH_BYTES (4096 + 64 + 16 + 32 * 4 + 128)
#define FRAG_BLOCK 64
#define FRAG_BITS 32
/* host/core/hash.ts */
#define HASH_PIECE_BYTES (16 * 1024)

#define PAGE 65536u

static Z_core_instance_t core;
static uint32_t arena_base, arena_top;
static uint64_t budget = 0; /* 0: no limit */
static uint64_t peak_bytes = 0;

static void die(const char *msg) {
  fprintf(stderr, "radseal-native: %s\n", msg);
  exit(1);
}

static uint8_t *mem(uint32_t off) { return core.w2c_memory.data + off; }

/* host/core/wasm.ts Core.alloc: bump allocation, memory grown as needed. */
static uint32_t arena_alloc(uint64_t bytes, uint32_t alignment) {
  uint64_t start = ((uint64_t)arena_top + alignment - 1) & ~(uint64_t)(alignment - 1);
  uint64_t end = start + bytes;
  if (end > 0xffffffffull) die("core memory would exceed 4 GiB");
  if (budget && end > budget) {
    fprintf(stderr, "radseal-native: core memory budget %llu bytes exceeded (need %llu)\n", (unsigned long long)budget, (unsigned long long)end);
    exit(3);
  }
  uint64_t have = core.w2c_memory.size;
  if (end > have) {
    uint32_t pages = (uint32_t)((end - have + PAGE - 1) / PAGE);
    if (wasm_rt_grow_memory(&core.w2c_memory, pages) == (uint32_t)-1) die("cannot grow core memory");
  }
  if (core.w2c_memory.size > peak_bytes) peak_bytes = core.w2c_memory.size;
  arena_top = (uint32_t)end;
  return (uint32_t)start;
}
static uint32_t arena_mark(void) { return arena_top; }
static void arena_release(uint32_t mark) { arena_top = mark; }
static uint32_t put(const void *src, uint32_t n) {
  uint32_t p = arena_alloc(n, 16);
  memcpy(mem(p), src, n);
  return p;
}

static void hex(const uint8_t *b, size_t n, char *out) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) { out[2 * i] = d[b[i] >> 4]; out[2 * i + 1] = d[b[i] & 15]; }
  out[2 * n] = 0;
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "radseal-native: %s: %s\n", path, strerror(errno)); exit(1); }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
  if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) die("read failed");
  fclose(f);
  *len = (size_t)n;
  return b;
}

static void write_file(const char *dir, const char *name, const void *data, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) { fprintf(stderr, "radseal-native: cannot write %s\n", path); exit(1); }
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double median(double *xs, size_t n) {
  qsort(xs, n, sizeof *xs, cmp_double);
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/* ---- hashing (host/core/hash.ts CoreHash.updateAt: in-place, PIECE_BYTES per call) ---- */

typedef struct {
  u32 (*ctx_size)(Z_core_instance_t *);
  void (*init)(Z_core_instance_t *, u32);
  void (*update)(Z_core_instance_t *, u32, u32, u32);
  void (*final)(Z_core_instance_t *, u32, u32);
  uint32_t out_len;
} hash_fns;

static const hash_fns SHA256 = { Z_coreZ_sha256ContextSize, Z_coreZ_sha256Init, Z_coreZ_sha256Update, Z_coreZ_sha256Final, 32 };
static const hash_fns SHA512 = { Z_coreZ_sha512ContextSize, Z_coreZ_sha512Init, Z_coreZ_sha512Update, Z_coreZ_sha512Final, 64 };

/* Hashes `len` bytes at `ptr` in core memory, handed over `piece` bytes at a time (as link chunks arrive). */
static void hash_in_core(const hash_fns *h, uint32_t ptr, uint64_t len, uint32_t piece, uint8_t *digest) {
  uint32_t m = arena_mark();
  uint32_t ctx = arena_alloc(h->ctx_size(&core), 16), out = arena_alloc(h->out_len, 16);
  h->init(&core, ctx);
  for (uint64_t off = 0; off < len; off += piece) {
    uint64_t n = len - off < piece ? len - off : piece;
    h->update(&core, ctx, ptr + (uint32_t)off, (uint32_t)n);
  }
  h->final(&core, ctx, out);
  memcpy(digest, mem(out), h->out_len);
  arena_release(m);
}

/* ---- per-tile SHA-256 (host/core/tiles.ts, one band of tile rows per call, in place) ---- */

static uint8_t *tile_table(uint32_t img, uint32_t rows, uint32_t cols, uint32_t size, uint32_t *ntiles) {
  uint32_t trows = (rows + size - 1) / size, tcols = (cols + size - 1) / size;
  uint8_t *table = malloc((size_t)trows * tcols * 32);
  if (!table) die("out of memory");
  uint32_t m = arena_mark();
  uint32_t ctx = arena_alloc(Z_coreZ_tileContextSize(&core), 16), out = arena_alloc(tcols * 32, 16);
  for (uint32_t ty = 0; ty < trows; ty++) {
    uint32_t band_rows = rows - ty * size < size ? rows - ty * size : size;
    uint32_t band = img + ty * size * cols * 2;
    uint32_t n = Z_coreZ_tileSha256(&core, band, band_rows, cols, size, ctx, out);
    if (n != tcols) die("internal: tileSha256 returned an unexpected tile count");
    memcpy(table + (size_t)ty * tcols * 32, mem(out), (size_t)tcols * 32);
  }
  arena_release(m);
  *ntiles = trows * tcols;
  return table;
}

/* ---- watermark embed (host/watermark/index.ts embedWatermark, step for step) ---- */

/* host/watermark/contentTag.ts tagCoefficients + contentTagFromMeans (invert = false). */
static void content_tag(const uint32_t *means, int gr, int gc, uint8_t tag[4]) {
  static int zz[64][2];
  int nz = 0;
  for (int s = 0; s < 15; s++)
    for (int i = 0; i <= s; i++) {
      int u = s % 2 == 0 ? s - i : i, v = s - u;
      if (u < 8 && v < 8) { zz[nz][0] = u; zz[nz][1] = v; nz++; }
    }
  int *rxOf = malloc(sizeof(int) * (gc > 0 ? gc : 1));
  double reg[64] = {0}, cnt[64] = {0};
  for (int x = 0; x < gc; x++) { int r = (int)floor((double)x * 8 / gc); rxOf[x] = r < 7 ? r : 7; }
  for (int y = 0; y < gr; y++) {
    int ryv = (int)floor((double)y * 8 / gr);
    int ry = (ryv < 7 ? ryv : 7) * 8;
    size_t o = (size_t)y * gc;
    int x = 0;
    for (int rx = 0; rx < 8; rx++) {
      double acc = 0;
      int start = x;
      while (x < gc && rxOf[x] == rx) acc += means[o + x++];
      reg[ry + rx] += acc;
      cnt[ry + rx] += x - start;
    }
  }
  free(rxOf);
  for (int i = 0; i < 64; i++) reg[i] = cnt[i] > 0 ? reg[i] / cnt[i] : 0;
  memset(tag, 0, 4);
  for (int k = 0; k < TAG_BITS; k++) {
    int u = zz[k + 1][0], v = zz[k + 1][1];
    double s = 0;
    for (int y = 0; y < 8; y++) {
      double cy = cos(((2 * y + 1) * u * M_PI) / 16);
      for (int x = 0; x < 8; x++) s += reg[y * 8 + x] * cy * cos(((2 * x + 1) * v * M_PI) / 16);
    }
    if (s > 0) tag[k >> 3] |= (uint8_t)(1 << (7 - (k & 7)));
  }
}

static uint32_t fragile_carriers(uint32_t rows, uint32_t cols) {
  uint32_t n = 0;
  for (uint32_t y = 0; y < rows; y += FRAG_BLOCK)
    for (uint32_t x = 0; x < cols; x += FRAG_BLOCK) {
      uint32_t h = rows - y < FRAG_BLOCK ? rows - y : FRAG_BLOCK, w = cols - x < FRAG_BLOCK ? cols - x : FRAG_BLOCK;
      n += h * w < FRAG_BITS ? h * w : FRAG_BITS;
    }
  return n;
}

typedef struct {
  double mse, psnr, sum_e;
  int max_abs_change;
  double marked_fraction;
  uint8_t tag[4];
  int fragile;
  uint32_t carriers, changed;
  double gain;
  int iterations;
} embed_result;

/* Marks the frame at `img` (rows*cols u16 in core memory) in place. */
static void embed(uint32_t img, uint32_t rows, uint32_t cols, uint32_t bits, const uint8_t key[32], const uint8_t pay[8],
                  double psnr_target, int want_fragile, embed_result *r) {
  memset(r, 0, sizeof *r);
  double maxv = ldexp(1.0, (int)bits) - 1;
  uint32_t gr = rows / CHIP, gc = cols / CHIP, n = gr * gc;
  uint32_t m0 = arena_mark();
  uint32_t sum = arena_alloc(4ull * n, 16), mn = arena_alloc(2ull * n, 16), mx = arena_alloc(2ull * n, 16), act = arena_alloc(4ull * n, 16);
  uint32_t mask = arena_alloc(4ull * n, 16), amp = arena_alloc(4ull * n, 16);
  uint32_t tsign = arena_alloc(TILE2, 16);
  if (n > 0) Z_coreZ_wmChipStats(&core, img, cols, gr, gc, sum, mn, mx, act);
  /* content tag from the unmarked chip sums */
  uint32_t *sums = malloc(4ull * (n ? n : 1));
  memcpy(sums, mem(sum), 4ull * n);
  content_tag(sums, (int)gr, (int)gc, r->tag);
  free(sums);
  /* information bits: payload | tag | CRC-16, then the rate-1/3 code */
  uint8_t info[INFO_BITS], data[PAYLOAD_BYTES + TAG_BITS / 8];
  memcpy(data, pay, PAYLOAD_BYTES);
  memcpy(data + PAYLOAD_BYTES, r->tag, 4);
  for (int i = 0; i < (int)sizeof data * 8; i++) info[i] = (data[i >> 3] >> (7 - (i & 7))) & 1;
  uint8_t coded[CODED_BITS];
  {
    uint32_t m = arena_mark();
    uint32_t crc = Z_coreZ_wmCrc16(&core, put(info, INFO_BITS - CRC_BITS), INFO_BITS - CRC_BITS);
    for (int i = 0; i < CRC_BITS; i++) info[INFO_BITS - CRC_BITS + i] = (crc >> (CRC_BITS - 1 - i)) & 1;
    uint32_t p = put(info, INFO_BITS), o = arena_alloc(3 * (INFO_BITS + 6), 16);
    Z_coreZ_wmConvEncode(&core, p, INFO_BITS, o);
    memcpy(coded, mem(o), CODED_BITS);
    arena_release(m);
  }
  /* keyed layout -> expected sign of every tile position */
  int8_t tile_sign[TILE2];
  {
    uint32_t m = arena_mark();
    uint32_t k = put(key, 32), sp = arena_alloc(TILE2, 16), rp = arena_alloc(TILE2 * 2, 16), scratch = arena_alloc(TILE2 * 4 + 256, 16);
    Z_coreZ_wmLayout(&core, k, TILE2, CODED_BITS, REPS, sp, rp, scratch);
    int pilots = 0;
    for (int j = 0; j < TILE2; j++) {
      int8_t s = (int8_t)mem(sp)[j];
      int16_t role;
      memcpy(&role, mem(rp) + 2 * j, 2);
      if (role == -1) pilots++;
      tile_sign[j] = role < 0 ? s : coded[role] ? (int8_t)-s : s;
    }
    if (pilots != PILOTS) die("watermark layout: unexpected pilot count");
    arena_release(m);
  }
  memcpy(mem(tsign), tile_sign, TILE2);
  /* gain: the largest that keeps the exact MSE at or below the target */
  int fragile = want_fragile && rows < 65536 && cols < 65536;
  uint32_t carriers = fragile ? fragile_carriers(rows, cols) : 0;
  double m2 = n > 0 ? Z_coreZ_wmMask(&core, act, mn, mx, n, (u32)maxv, MASK_LO, MASK_HI, mask) : 0;
  double mse_target = (maxv * maxv) / pow(10, psnr_target / 10);
  double budget_e = (mse_target * rows * cols - carriers) / 64;
  double cap_d = floor(8 * ldexp(1.0, (int)bits - 10));
  int cap = (int)(cap_d > 1 ? cap_d : 1) - (fragile ? 1 : 0);
  double sum_e = 0, gain = 0;
  int it = 0;
  if (m2 > 0 && budget_e > 0) {
    double b0 = budget_e - (double)n / 6;
    gain = sqrt((b0 > 0 ? b0 : 0) / m2);
    for (it = 0; it < 60; it++) {
      sum_e = Z_coreZ_wmAmplitudes(&core, mask, mn, mx, n, (f32)gain, (u32)cap, (u32)maxv, amp);
      if (sum_e <= budget_e) break;
      gain *= sqrt(budget_e / sum_e) * 0.995;
    }
    if (sum_e > budget_e) { gain = 0; sum_e = Z_coreZ_wmAmplitudes(&core, mask, mn, mx, n, 0.0f, (u32)cap, (u32)maxv, amp); }
    Z_coreZ_wmEmbed(&core, img, cols, gr, gc, amp, tsign, TILE);
  } else if (n > 0) memset(mem(amp), 0, 4ull * n);
  int max_a = 0;
  uint32_t marked = 0;
  for (uint32_t i = 0; i < n; i++) {
    int32_t a;
    memcpy(&a, mem(amp) + 4ull * i, 4);
    if (a > 0) { marked++; int c = (int)ceil(a / 64.0); if (c > max_a) max_a = c; }
  }
  double sse = sum_e * 64;
  if (fragile) {
    /* fragile layer: image id = payload || "FRG1" */
    uint8_t id[12];
    memcpy(id, pay, 8);
    memcpy(id + 8, "FRG1", 4);
    uint32_t k = put(key, 32), idp = arena_alloc(12, 16);
    memcpy(mem(idp), id, 12);
    uint32_t ctx = arena_alloc(FRAG_CTX_BYTES, 16), scratch = arena_alloc(FRAG_SCRATCH_BYTES, 16);
    memset(mem(scratch), 0, FRAG_SCRATCH_BYTES);
    Z_coreZ_wmFragileSetup(&core, k, idp, rows, cols, bits, ctx, scratch);
    memset(mem(scratch), 0, FRAG_SCRATCH_BYTES);
    uint32_t out = arena_alloc(8, 16);
    double d = Z_coreZ_wmFragile(&core, img, rows, cols, bits, ctx, 0, n > 0 ? amp : 0, tsign, gr, gc, TILE, out, scratch);
    sse += d;
    int32_t mc, changed;
    memcpy(&mc, mem(out), 4);
    memcpy(&changed, mem(out) + 4, 4);
    if (mc > max_a) max_a = mc;
    r->carriers = carriers;
    r->changed = (uint32_t)changed;
  }
  arena_release(m0);
  r->fragile = fragile;
  r->sum_e = sum_e;
  r->mse = sse / ((double)rows * cols);
  r->psnr = r->mse > 0 ? 10 * log10((maxv * maxv) / r->mse) : INFINITY;
  r->max_abs_change = max_a;
  r->marked_fraction = n > 0 ? (double)marked / n : 0;
  r->gain = gain;
  r->iterations = it;
}

static void usage(void) {
  fprintf(stderr,
          "usage: radseal-native FRAME.raw ROWS COLS BITS KEYFILE PAYLOAD_HEX OUTDIR\n"
          "                      [--tile N] [--piece BYTES] [--psnr DB] [--no-fragile] [--budget BYTES] [--repeat N]\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 8) usage();
  const char *frame_path = argv[1], *key_path = argv[5], *payload_hex = argv[6], *outdir = argv[7];
  long rows = strtol(argv[2], NULL, 10), cols = strtol(argv[3], NULL, 10), bits = strtol(argv[4], NULL, 10);
  long tile = 256, piece = 4096, repeat = 1;
  double psnr = DEFAULT_PSNR_DB;
  int fragile = 1;
  for (int i = 8; i < argc; i++) {
    if (!strcmp(argv[i], "--tile") && i + 1 < argc) tile = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--piece") && i + 1 < argc) piece = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--psnr") && i + 1 < argc) psnr = strtod(argv[++i], NULL);
    else if (!strcmp(argv[i], "--budget") && i + 1 < argc) budget = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--no-fragile")) fragile = 0;
    else usage();
  }
  if (rows < 1 || cols < 1 || rows > 65535 || cols > 65535) die("rows and cols must be 1..65535");
  if (bits < 8 || bits > 16) die("bits stored must be 8..16");
  if (tile < 1 || tile > 65535) die("tile size must be 1..65535");
  if (piece < 1 || piece > (1 << 30)) die("piece must be 1..2^30 bytes");
  if (!(psnr >= MIN_PSNR_DB)) die("psnr must be >= 58 dB");
  if (repeat < 1) repeat = 1;

  size_t frame_len, key_len;
  uint8_t *frame = read_file(frame_path, &frame_len);
  if (frame_len != (size_t)rows * cols * 2) {
    fprintf(stderr, "radseal-native: %s has %zu bytes, %ldx%ld uint16 needs %zu\n", frame_path, frame_len, rows, cols, (size_t)rows * cols * 2);
    return 1;
  }
  /* bits above Bits Stored must be zero: the core assumes values <= 2^bits - 1 */
  for (size_t i = 0; i < frame_len / 2; i++)
    if ((frame[2 * i] | (frame[2 * i + 1] << 8)) >> bits) die("frame has pixel values above 2^bits - 1");
  struct stat st;
  if (stat(key_path, &st) != 0) { fprintf(stderr, "radseal-native: %s: %s\n", key_path, strerror(errno)); return 1; }
  if (st.st_mode & 077) die("watermark key file must not be readable by group or others (chmod 600)");
  uint8_t *key = read_file(key_path, &key_len);
  if (key_len != 32) die("watermark key file must hold exactly 32 bytes");
  uint8_t pay[8] = {0};
  size_t plen = strlen(payload_hex);
  if (plen % 2 || plen > 16) die("payload must be up to 8 bytes in hex");
  for (size_t i = 0; i < plen / 2; i++) {
    unsigned v;
    if (sscanf(payload_hex + 2 * i, "%2x", &v) != 1) die("payload is not hex");
    pay[i] = (uint8_t)v;
  }

  wasm_rt_init();
  Z_core_init_module();
  Z_core_instantiate(&core);
  arena_base = arena_top = (Z_coreZ_heapBase(&core) + 15) & ~15u;
  peak_bytes = core.w2c_memory.size;

  uint8_t d256[32], d512[64], dm256[32];
  uint8_t *tiles = NULL, *marked = malloc(frame_len);
  uint32_t ntiles = 0;
  embed_result er;
  enum { T_LOAD, T_SHA256, T_SHA512, T_TILES, T_EMBED, T_MARKED, T_N };
  double *times = calloc((size_t)repeat * T_N, sizeof(double));
  if (!times) die("out of memory");
  wasm_rt_trap_t trap = wasm_rt_impl_try();
  if (trap != 0) {
    fprintf(stderr, "radseal-native: the core trapped: %s\n", wasm_rt_strerror(trap));
    return 4;
  }
  for (long rep = 0; rep < repeat; rep++) {
    arena_release(arena_base);
    free(tiles);
    tiles = NULL;
    double t[T_N + 1];
    t[0] = now_s();
    /* The frame goes into core memory as the link would deliver it. */
    uint32_t img = arena_alloc(frame_len, 16);
    memcpy(mem(img), frame, frame_len);
    t[1] = now_s();
    hash_in_core(&SHA256, img, frame_len, (uint32_t)piece, d256);
    t[2] = now_s();
    hash_in_core(&SHA512, img, frame_len, (uint32_t)piece, d512);
    t[3] = now_s();
    tiles = tile_table(img, (uint32_t)rows, (uint32_t)cols, (uint32_t)tile, &ntiles);
    t[4] = now_s();
    embed(img, (uint32_t)rows, (uint32_t)cols, (uint32_t)bits, key, pay, psnr, fragile, &er);
    t[5] = now_s();
    hash_in_core(&SHA256, img, frame_len, (uint32_t)piece, dm256);
    t[6] = now_s();
    memcpy(marked, mem(img), frame_len);
    for (int k = 0; k < T_N; k++) times[k * repeat + rep] = t[k + 1] - t[k];
  }
  double med[T_N];
  for (int k = 0; k < T_N; k++) med[k] = median(times + k * repeat, (size_t)repeat);
  free(times);

  write_file(outdir, "tiles.bin", tiles, (size_t)ntiles * 32);
  write_file(outdir, "marked.raw", marked, frame_len);
  char h256[65], h512[129], hm256[65], htag[9], hpay[17];
  hex(d256, 32, h256); hex(d512, 64, h512); hex(dm256, 32, hm256); hex(er.tag, 4, htag); hex(pay, 8, hpay);
  char psnr_s[40];
  if (isfinite(er.psnr)) snprintf(psnr_s, sizeof psnr_s, "%.17g", er.psnr); else strcpy(psnr_s, "null");
  char path[4096];
  snprintf(path, sizeof path, "%s/result.json", outdir);
  FILE *f = fopen(path, "w");
  if (!f) die("cannot write result.json");
  fprintf(f, "{\n  \"runtime\": \"wasm2c-native\",\n  \"rows\": %ld, \"cols\": %ld, \"bitsStored\": %ld,\n", rows, cols, bits);
  fprintf(f, "  \"sha256\": \"%s\",\n  \"sha512\": \"%s\",\n  \"markedSha256\": \"%s\",\n", h256, h512, hm256);
  fprintf(f, "  \"tileSize\": %ld, \"tiles\": %u, \"pieceBytes\": %ld,\n", tile, ntiles, piece);
  fprintf(f, "  \"watermark\": { \"payloadHex\": \"%s\", \"contentTagHex\": \"%s\", \"mse\": %.17g, \"psnrDb\": %s, \"maxAbsChange\": %d, "
             "\"markedFraction\": %.17g, \"gain\": %.17g, \"gainIterations\": %d, \"fragile\": %s",
          hpay, htag, er.mse, psnr_s, er.max_abs_change, er.marked_fraction, er.gain, er.iterations, er.fragile ? "true" : "false");
  if (er.fragile) fprintf(f, ", \"carriers\": %u, \"changed\": %u", er.carriers, er.changed);
  fprintf(f, " },\n");
  fprintf(f, "  \"memory\": { \"heapBase\": %u, \"peakBytes\": %llu, \"budgetBytes\": %llu },\n", Z_coreZ_heapBase(&core),
          (unsigned long long)peak_bytes, (unsigned long long)budget);
  fprintf(f, "  \"seconds\": { \"repeat\": %ld, \"median\": true, \"load\": %.6f, \"sha256\": %.6f, \"sha512\": %.6f, \"tiles\": %.6f, \"embed\": %.6f, \"markedSha256\": %.6f },\n",
          repeat, med[T_LOAD], med[T_SHA256], med[T_SHA512], med[T_TILES], med[T_EMBED], med[T_MARKED]);
  fprintf(f, "  \"params\": { \"CHIP\": %d, \"TILE\": %d, \"CODED_BITS\": %d, \"REPS\": %d, \"PILOTS\": %d, \"MASK_LO\": %g, \"MASK_HI\": %g, "
             "\"DEFAULT_PSNR_DB\": %g, \"FRAG_CTX_BYTES\": %d, \"FRAG_SCRATCH_BYTES\": %d }\n}\n",
          CHIP, TILE, CODED_BITS, REPS, PILOTS, (double)MASK_LO, (double)MASK_HI, DEFAULT_PSNR_DB, FRAG_CTX_BYTES, FRAG_SCRATCH_BYTES);
  fclose(f);
  Z_core_free(&core);
  wasm_rt_free();
  free(frame); free(key); free(tiles); free(marked);
  return 0;
}
