/* The direct convolution engine (nn_internal.h): AVX-512 kernels that read each tap's shifted
 * input under a lane mask, so there is no im2col and no col2im.
 *
 * Positions: the output grid of a group of G images, [image][oy][ox], vectorised 16 at a time.
 * A stride-2 input is split into its four even/odd phases, each an (h/2) x (w/2) grid like the
 * output, so every tap of every stride becomes "plane + constant shift" in that grid; the mask of
 * (tap, vector) keeps the lanes whose shifted position lies inside the image.
 *
 *   forward          out[m][p]  = sum_{s,t} W[m][s][t] * S[phase(t)][s][p + shift(t)]
 *   weight gradient  dW[m][s][t] += sum_p D[m][p] * S[phase(t)][s][p + shift(t)]
 *   input gradient   dS[phase][s][q] = sum_{m, t in phase} W[m][s][t] * D[m][q - shift(t)]
 *
 * The forward and input-gradient kernels keep an 8 x 48 tile of outputs in registers over the
 * whole reduction; the weight-gradient kernel keeps a 6 x 4 tile of 16-lane partial sums over the
 * group's positions and reduces them once, 16 + 8 at a time. */
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define VL 16       /* floats per vector */
#define MAX_TAPS 49 /* kernels up to 7 x 7 */
#define K1_MR 8     /* forward tile: output rows */
#define K1_NV 3     /* forward tile: vectors of positions */
#define K2_MR 6     /* weight-gradient tile: output channels */
#define K2_KR 4     /* weight-gradient tile: (tap, input channel) pairs */
/* Positions a group should at least cover, so per-group costs (reductions, tails) amortise. */
#define GROUP_MIN_POSITIONS 512
#define GROUP_MAX 16

#define TARGET __attribute__((target("avx512f")))
#define INLINE static inline __attribute__((always_inline))

struct conv_direct {
    uint32_t c_in, c_out, k, kk, stride, pad;
    uint32_t h, w, ho, wo;   /* input and output (= phase) grids */
    uint32_t phases;         /* 1, or 4 at stride 2 */
    uint32_t group;          /* images per group */
    uint32_t pos;            /* ho * wo */
    uint32_t nvec;           /* vectors of a full group */
    size_t plane;            /* floats per channel in a group buffer */
    size_t margin;           /* floats before and after a shifted-read buffer */
    int32_t f_off[MAX_TAPS]; /* tap -> offset in S (phase plane + shift) */
    uint16_t *f_mask;        /* [kk][nvec] */
    uint32_t b_n[4];         /* input gradient: taps per phase */
    uint8_t b_tap[4][MAX_TAPS];
    int32_t b_off[4][MAX_TAPS]; /* offsets in D */
    uint16_t *b_mask[4];        /* [b_n][nvec] each */
    uint8_t *v_img;             /* [nvec]: the image of a group where vector v starts */
    uint16_t *v_lo;             /* [nvec]: its lanes in that image */
    float *a_fwd;               /* [m blocks of K1_MR][kk][c_in][rows of the block] */
    float *a_bwd[4];            /* per phase: [c_in blocks][b_n][c_out][rows of the block] */
    size_t s_floats, o_floats, d_floats, ds_floats;
};

/* ---- kernels ---- */

/* Up to four byte ranges (the next group's inputs and outputs) fetched into L2 a few lines at a
 * time from inside the kernels' loops, so that DRAM latency hides behind the arithmetic of the
 * current group; issuing them in bursts stalls. */
typedef struct prefetch_plan {
    const char *at[4];
    size_t left[4];          /* bytes */
    uint32_t range;          /* the range being fetched */
    uint32_t lines_per_step; /* lines per prefetch_step */
} prefetch_plan;

#define LINE 64
#define PASS_AHEAD 2048 /* floats a streaming pass prefetches ahead */

static void prefetch_add(prefetch_plan *pp, const void *from, size_t bytes)
{
    for (int i = 0; i < 4; i++)
        if (pp->left[i] == 0) {
            pp->at[i] = from;
            pp->left[i] = bytes;
            return;
        }
}

/* Spreads the plan's lines over `steps` calls of prefetch_step. */
static void prefetch_spread(prefetch_plan *pp, size_t steps)
{
    size_t lines = 0;
    for (int i = 0; i < 4; i++)
        lines += (pp->left[i] + LINE - 1) / LINE;
    pp->range = 0;
    pp->lines_per_step = (uint32_t)(lines / (steps ? steps : 1) + 1);
}

INLINE void prefetch_step(prefetch_plan *pp)
{
    if (pp == NULL)
        return;
    for (uint32_t budget = pp->lines_per_step; budget > 0 && pp->range < 4; budget--) {
        while (pp->range < 4 && pp->left[pp->range] == 0)
            pp->range++;
        if (pp->range == 4)
            return;
        _mm_prefetch(pp->at[pp->range], _MM_HINT_T1);
        const size_t step = pp->left[pp->range] < LINE ? pp->left[pp->range] : LINE;
        pp->at[pp->range] += step;
        pp->left[pp->range] -= step;
    }
}

typedef struct k1_job {
    const float *a;   /* packed weights */
    const float *src; /* plane 0 of the sources */
    size_t src_stride;
    uint32_t n_src, n_taps;
    const int32_t *off;
    const uint16_t *mask; /* [n_taps][mask_stride] */
    uint32_t mask_stride;
    float *out;
    size_t out_stride;
    uint32_t m, n_pos;
    /* Scattered output (img_stride != 0): out is image 0 of an NCHW tensor whose images are
     * img_stride floats apart and whose rows (channels) are out_stride = pos apart; vector v of
     * the group starts in image v_img[v] and its lanes outside v_lo[v] belong to the next image.
     * relu_x, when not NULL, is the same-shaped tensor whose lanes <= 0 zero the output. */
    size_t img_stride;
    uint32_t pos;
    const uint8_t *v_img;
    const uint16_t *v_lo;
    const float *relu_x;
    prefetch_plan *prefetch; /* NULL: none */
} k1_job;

INLINE __mmask16 tail_mask(uint32_t n_pos, uint32_t v)
{
    const uint32_t first = v * VL;
    if (first + VL <= n_pos)
        return 0xFFFF;
    return first >= n_pos ? 0 : (__mmask16)((1u << (n_pos - first)) - 1u);
}

INLINE TARGET void k1_tile(const k1_job *j, uint32_t m0, uint32_t v0, const int mr, const int nv)
{
    const float *a = j->a + (size_t)m0 * j->n_taps * j->n_src;
    __m512 acc[K1_MR][K1_NV];
    __mmask16 tail[K1_NV];
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++)
            acc[r][v] = _mm512_setzero_ps();
#pragma GCC unroll 3
    for (int v = 0; v < nv; v++)
        tail[v] = tail_mask(j->n_pos, v0 + (uint32_t)v);
    for (uint32_t t = 0; t < j->n_taps; t++) {
        prefetch_step(j->prefetch);
        const uint16_t *mrow = j->mask + (size_t)t * j->mask_stride + v0;
        __mmask16 k[K1_NV];
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++)
            k[v] = (__mmask16)(mrow[v] & tail[v]);
        const float *sp = j->src + j->off[t] + (ptrdiff_t)v0 * VL;
        const float *ap = a + (size_t)t * j->n_src * mr;
        for (uint32_t s = 0; s < j->n_src; s++) {
            __m512 b[K1_NV];
#pragma GCC unroll 3
            for (int v = 0; v < nv; v++)
                b[v] = _mm512_maskz_loadu_ps(k[v], sp + v * VL);
#pragma GCC unroll 8
            for (int r = 0; r < mr; r++) {
                const __m512 wv = _mm512_set1_ps(ap[r]);
#pragma GCC unroll 3
                for (int v = 0; v < nv; v++)
                    acc[r][v] = _mm512_fmadd_ps(wv, b[v], acc[r][v]);
            }
            sp += j->src_stride;
            ap += mr;
        }
    }
    if (j->img_stride == 0) {
        float *o = j->out + (size_t)m0 * j->out_stride + (size_t)v0 * VL;
#pragma GCC unroll 8
        for (int r = 0; r < mr; r++)
#pragma GCC unroll 3
            for (int v = 0; v < nv; v++)
                _mm512_mask_storeu_ps(o + r * j->out_stride + v * VL, tail[v], acc[r][v]);
        return;
    }
#pragma GCC unroll 3
    for (int v = 0; v < nv; v++) {
        const uint32_t img = j->v_img[v0 + v];
        const __mmask16 lo = (__mmask16)(j->v_lo[v0 + v] & tail[v]);
        const __mmask16 hi = (__mmask16)(~j->v_lo[v0 + v] & tail[v]);
        /* Position p of image g sits at out + g * img_stride + (p - g * pos). */
        const ptrdiff_t shift = (ptrdiff_t)img * ((ptrdiff_t)j->img_stride - (ptrdiff_t)j->pos) +
                                (ptrdiff_t)(v0 + v) * VL + (ptrdiff_t)m0 * j->out_stride;
        const ptrdiff_t next = (ptrdiff_t)j->img_stride - (ptrdiff_t)j->pos;
        float *o = j->out + shift;
        const float *xr = j->relu_x != NULL ? j->relu_x + shift : NULL;
#pragma GCC unroll 8
        for (int r = 0; r < mr; r++) {
            __m512 val = acc[r][v];
            const size_t row = (size_t)r * j->out_stride;
            if (xr != NULL) {
                const __m512 xl = _mm512_maskz_loadu_ps(lo, xr + row);
                const __m512 xh = _mm512_maskz_loadu_ps(hi, xr + row + next);
                const __mmask16 keep =
                    (__mmask16)(_mm512_mask_cmp_ps_mask(lo, xl, _mm512_setzero_ps(), _CMP_GT_OQ) |
                                _mm512_mask_cmp_ps_mask(hi, xh, _mm512_setzero_ps(), _CMP_GT_OQ));
                val = _mm512_maskz_mov_ps(keep, val);
            }
            _mm512_mask_storeu_ps(o + row, lo, val);
            if (hi)
                _mm512_mask_storeu_ps(o + row + next, hi, val);
        }
    }
}

typedef void (*k1_fn)(const k1_job *j, uint32_t m0, uint32_t v0);
#define K1_DEF(MR, NV)                                                                             \
    static TARGET void k1_##MR##_##NV(const k1_job *j, uint32_t m0, uint32_t v0)                   \
    {                                                                                              \
        k1_tile(j, m0, v0, MR, NV);                                                                \
    }
/* Unformatted: clang-format misplaces lines after a macro call without a semicolon. */
/* clang-format off */
#define K1_ROW(MR) K1_DEF(MR, 1) K1_DEF(MR, 2) K1_DEF(MR, 3)
K1_ROW(1)
K1_ROW(2)
K1_ROW(3)
K1_ROW(4)
K1_ROW(5)
K1_ROW(6)
K1_ROW(7)
K1_ROW(8)
#define K1_ENTRY(MR) {k1_##MR##_1, k1_##MR##_2, k1_##MR##_3}
static const k1_fn k1_fns[K1_MR][K1_NV] = {K1_ENTRY(1), K1_ENTRY(2), K1_ENTRY(3), K1_ENTRY(4),
                                           K1_ENTRY(5), K1_ENTRY(6), K1_ENTRY(7), K1_ENTRY(8)};
/* clang-format on */

static TARGET void k1_run(const k1_job *j)
{
    const uint32_t nvec = (j->n_pos + VL - 1) / VL;
    if (j->prefetch != NULL)
        prefetch_spread(j->prefetch, (size_t)((nvec + K1_NV - 1) / K1_NV) *
                                         ((j->m + K1_MR - 1) / K1_MR) * j->n_taps);
    for (uint32_t v0 = 0; v0 < nvec;) {
        /* A last 4 vectors as 2 + 2: a 1-vector tile is bound by its broadcasts. */
        const uint32_t left = nvec - v0;
        const uint32_t nv = left == 4 ? 2 : left < K1_NV ? left : K1_NV;
        for (uint32_t m0 = 0; m0 < j->m; m0 += K1_MR) {
            const uint32_t mr = j->m - m0 < K1_MR ? j->m - m0 : K1_MR;
            k1_fns[mr - 1][nv - 1](j, m0, v0);
        }
        v0 += nv;
    }
}

/* The weight gradient accumulates per tile of mr output channels (k2_rows) x kr consecutive k,
 * where k = tap * n_src + source: the tile at (k0, m0) owns the mr * K2_KR floats from
 * (k0 / K2_KR) * m * K2_KR + m0 * K2_KR; accumulator i = r * K2_KR + q of (k0 + q, m0 + r) lands in
 * slot k2_slot(i) of a tile reduced 16 (+ 8) at a time (kr == 4 and mr == 4 or 6), else in slot i.
 */
typedef struct k2_job {
    const float *d; /* gradient rows, zero past n_pos up to the vector boundary */
    size_t d_stride;
    const float *src;
    size_t src_stride;
    uint32_t m, n_src, n_taps;
    const int32_t *off;
    const uint16_t *mask;
    uint32_t mask_stride;
    uint32_t n_pos;
    float *part;             /* blocked partial sums */
    prefetch_plan *prefetch; /* NULL: none */
} k2_job;

/* Rows of the tile that starts at output channel m0 of m: 6 at a time, a last 8 as 4 + 4. */
static inline uint32_t k2_rows(uint32_t m, uint32_t m0)
{
    const uint32_t left = m - m0;
    return left == 7 || left == 8 ? 4 : left < K2_MR ? left : K2_MR;
}

static inline int k2_reduced(uint32_t mr, uint32_t kr)
{
    return kr == K2_KR && (mr == 4 || mr == K2_MR);
}

static inline uint32_t k2_slot(uint32_t i)
{
    if (i < 16)
        return (i & 3) * 4 + (i >> 2);
    i -= 16;
    return 16 + (i < 4 ? 2 * i : 2 * (i - 4) + 1);
}

/* Sums each of a[0..16) across its lanes: lane k2_slot(i) of the result = sum of a[i]. */
INLINE TARGET __m512 reduce16(const __m512 *a)
{
    __m512 b[8], c[4], d[2];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        b[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0x44),
                             _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0xEE));
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
        c[i] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0xDD));
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++)
        d[i] = _mm512_add_ps(_mm512_shuffle_ps(c[2 * i], c[2 * i + 1], 0x44),
                             _mm512_shuffle_ps(c[2 * i], c[2 * i + 1], 0xEE));
    return _mm512_add_ps(_mm512_shuffle_ps(d[0], d[1], 0x88), _mm512_shuffle_ps(d[0], d[1], 0xDD));
}

/* Sums each of a[0..8) across its lanes: lane k2_slot(16 + i) - 16 of the result = sum of a[i]. */
INLINE TARGET __m256 reduce8(const __m512 *a)
{
    __m512 b[4], c[2];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
        b[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0x44),
                             _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0xEE));
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++)
        c[i] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0xDD));
    const __m512 d =
        _mm512_add_ps(_mm512_shuffle_ps(c[0], c[1], 0x44), _mm512_shuffle_ps(c[0], c[1], 0xEE));
    const __m512 e = _mm512_add_ps(d, _mm512_shuffle_ps(d, d, 0xB1));
    return _mm512_castps512_ps256(_mm512_maskz_compress_ps(0x5555, e));
}

/* One vector of positions: acc[r][q] += D[r][v] * S_q[v], each S_q under its tap's mask. With
 * uniform set, the kr pairs share one tap (so one mask) and S_q = S_0 + q * src_stride. (The
 * shifted loads are unaligned; building them from aligned loads with valignd or vpermt2ps is no
 * faster here: the shuffles compete with the FMAs.) */
INLINE TARGET void k2_step(const k2_job *j, __m512 *acc, const float *dp, const float *const *sp,
                           const uint16_t *const *mrow, uint32_t v, __mmask16 tail, const int mr,
                           const int kr, const int uniform)
{
    __m512 d[8];
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
        d[r] = _mm512_load_ps(dp + r * j->d_stride + v * VL);
    const __mmask16 k0 = (__mmask16)(mrow[0][v] & tail);
#pragma GCC unroll 8
    for (int q = 0; q < kr; q++) {
        const __mmask16 k = uniform ? k0 : (__mmask16)(mrow[q][v] & tail);
        const float *src = uniform ? sp[0] + q * j->src_stride : sp[q];
        const __m512 b = _mm512_maskz_loadu_ps(k, src + v * VL);
#pragma GCC unroll 8
        for (int r = 0; r < mr; r++)
            acc[r * 8 + q] = _mm512_fmadd_ps(d[r], b, acc[r * 8 + q]);
    }
}

INLINE TARGET void k2_tile(const k2_job *j, uint32_t m0, uint32_t k0, const int mr, const int kr,
                           const int uniform)
{
    const float *sp[8];
    const uint16_t *mrow[8];
#pragma GCC unroll 8
    for (int q = 0; q < kr; q++) {
        const uint32_t t = (k0 + (uint32_t)q) / j->n_src, s = (k0 + (uint32_t)q) % j->n_src;
        sp[q] = j->src + (size_t)s * j->src_stride + j->off[t];
        mrow[q] = j->mask + (size_t)t * j->mask_stride;
    }
    __m512 acc[64];
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
#pragma GCC unroll 8
        for (int q = 0; q < kr; q++)
            acc[r * 8 + q] = _mm512_setzero_ps();
    const uint32_t nvec = (j->n_pos + VL - 1) / VL;
    const float *dp = j->d + (size_t)m0 * j->d_stride;
    for (uint32_t v = 0; v + 1 < nvec; v++) {
        prefetch_step(j->prefetch);
        k2_step(j, acc, dp, sp, mrow, v, 0xFFFF, mr, kr, uniform);
    }
    k2_step(j, acc, dp, sp, mrow, nvec - 1, tail_mask(j->n_pos, nvec - 1), mr, kr, uniform);
    float *block = j->part + ((size_t)(k0 / K2_KR) * j->m + m0) * K2_KR;
    if (k2_reduced((uint32_t)mr, (uint32_t)kr)) {
        __m512 t[24];
#pragma GCC unroll 8
        for (int r = 0; r < mr; r++)
#pragma GCC unroll 8
            for (int q = 0; q < kr; q++)
                t[r * kr + q] = acc[r * 8 + q];
        _mm512_storeu_ps(block, _mm512_add_ps(_mm512_loadu_ps(block), reduce16(t)));
        if (mr * kr == 24)
            _mm256_storeu_ps(block + 16,
                             _mm256_add_ps(_mm256_loadu_ps(block + 16), reduce8(t + 16)));
        return;
    }
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
#pragma GCC unroll 8
        for (int q = 0; q < kr; q++)
            block[r * K2_KR + q] += _mm512_reduce_add_ps(acc[r * 8 + q]);
}

static TARGET __attribute__((noinline)) void k2_full_uniform(const k2_job *j, uint32_t m0,
                                                             uint32_t k0)
{
    k2_tile(j, m0, k0, K2_MR, K2_KR, 1);
}

/* A last block of 4 output channels (16 = 6 + 6 + 4, 64 = 10 * 6 + 4). */
static TARGET __attribute__((noinline)) void k2_four_uniform(const k2_job *j, uint32_t m0,
                                                             uint32_t k0)
{
    k2_tile(j, m0, k0, 4, K2_KR, 1);
}

typedef void (*k2_fn)(const k2_job *j, uint32_t m0, uint32_t k0);
#define K2_DEF(MR, KR)                                                                             \
    static TARGET void k2_##MR##_##KR(const k2_job *j, uint32_t m0, uint32_t k0)                   \
    {                                                                                              \
        k2_tile(j, m0, k0, MR, KR, 0);                                                             \
    }
/* clang-format off */
#define K2_ROW(MR) K2_DEF(MR, 1) K2_DEF(MR, 2) K2_DEF(MR, 3) K2_DEF(MR, 4)
K2_ROW(1)
K2_ROW(2)
K2_ROW(3)
K2_ROW(4)
K2_ROW(5)
K2_ROW(6)
#define K2_ENTRY(MR) {k2_##MR##_1, k2_##MR##_2, k2_##MR##_3, k2_##MR##_4}
static const k2_fn k2_all[K2_MR][K2_KR] = {K2_ENTRY(1), K2_ENTRY(2), K2_ENTRY(3),
                                           K2_ENTRY(4), K2_ENTRY(5), K2_ENTRY(6)};
/* clang-format on */

static TARGET void k2_run(const k2_job *j)
{
    const uint32_t n_k = j->n_taps * j->n_src;
    if (j->prefetch != NULL)
        prefetch_spread(j->prefetch, (size_t)((j->m + K2_MR - 1) / K2_MR) *
                                         ((n_k + K2_KR - 1) / K2_KR) * (j->n_pos / VL + 1));
    for (uint32_t m0 = 0; m0 < j->m;) {
        const uint32_t mr = k2_rows(j->m, m0);
        for (uint32_t k0 = 0; k0 < n_k; k0 += K2_KR) {
            const uint32_t kr = n_k - k0 < K2_KR ? n_k - k0 : K2_KR;
            const int uniform = kr == K2_KR && k0 % j->n_src + K2_KR <= j->n_src;
            if (uniform && mr == K2_MR)
                k2_full_uniform(j, m0, k0);
            else if (uniform && mr == 4)
                k2_four_uniform(j, m0, k0);
            else
                k2_all[mr - 1][kr - 1](j, m0, k0);
        }
        m0 += mr;
    }
}

/* ---- packing between NCHW images and group buffers ---- */

/* dst[0..n) = relu(src) or src; unaligned. */
INLINE TARGET void copy_row(float *dst, const float *src, uint32_t n, int relu)
{
    const __m512 zero = _mm512_setzero_ps();
    uint32_t i = 0;
    for (; i + VL <= n; i += VL) {
        _mm_prefetch((const char *)(src + i + PASS_AHEAD), _MM_HINT_T0);
        __m512 v = _mm512_loadu_ps(src + i);
        _mm512_storeu_ps(dst + i, relu ? _mm512_max_ps(v, zero) : v);
    }
    if (i < n) {
        const __mmask16 k = (__mmask16)((1u << (n - i)) - 1u);
        __m512 v = _mm512_maskz_loadu_ps(k, src + i);
        _mm512_mask_storeu_ps(dst + i, k, relu ? _mm512_max_ps(v, zero) : v);
    }
}

/* Even and odd elements of src[0..2n) into even[0..n) and odd[0..n). */
INLINE TARGET void split_row(float *even, float *odd, const float *src, uint32_t n, int relu)
{
    const __m512i ie = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i io = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __m512 zero = _mm512_setzero_ps();
    for (uint32_t i = 0; i < n; i += VL) {
        const uint32_t left = n - i < VL ? n - i : VL; /* outputs in this step */
        const uint32_t in = 2 * left;
        const __mmask16 k0 = in >= VL ? 0xFFFF : (__mmask16)((1u << in) - 1u);
        const __mmask16 k1 = in <= VL ? 0 : (__mmask16)((1u << (in - VL)) - 1u);
        const __mmask16 ko = left == VL ? 0xFFFF : (__mmask16)((1u << left) - 1u);
        _mm_prefetch((const char *)(src + 2 * i + PASS_AHEAD), _MM_HINT_T0);
        _mm_prefetch((const char *)(src + 2 * i + VL + PASS_AHEAD), _MM_HINT_T0);
        __m512 lo = _mm512_maskz_loadu_ps(k0, src + 2 * i);
        __m512 hi = _mm512_maskz_loadu_ps(k1, src + 2 * i + VL);
        if (relu) {
            lo = _mm512_max_ps(lo, zero);
            hi = _mm512_max_ps(hi, zero);
        }
        _mm512_mask_storeu_ps(even + i, ko, _mm512_permutex2var_ps(lo, ie, hi));
        _mm512_mask_storeu_ps(odd + i, ko, _mm512_permutex2var_ps(lo, io, hi));
    }
}

/* The group buffer S of images x[0..g): relu(x) or x, split into phases at stride 2. */
static TARGET void pack_input(const conv_direct *p, const float *x, uint32_t g, int relu, float *s)
{
    const size_t in_count = (size_t)p->c_in * p->h * p->w;
    for (uint32_t gi = 0; gi < g; gi++)
        for (uint32_t c = 0; c < p->c_in; c++) {
            const float *src = x + gi * in_count + (size_t)c * p->h * p->w;
            float *dst = s + (size_t)c * p->plane + (size_t)gi * p->pos;
            if (p->phases == 1) {
                copy_row(dst, src, p->pos, relu);
                continue;
            }
            const size_t phase = (size_t)p->c_in * p->plane;
            for (uint32_t iy = 0; iy < p->h; iy++) {
                float *row = dst + (iy & 1) * 2 * phase + (size_t)(iy >> 1) * p->wo;
                split_row(row, row + phase, src + (size_t)iy * p->w, p->wo, relu);
            }
        }
}

/* dx[0..2n) interleaves even[0..n) and odd[0..n), masked by x > 0 when relu. */
INLINE TARGET void merge_row(float *dx, const float *even, const float *odd, const float *x,
                             uint32_t n, int relu)
{
    const __m512i il = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i ih =
        _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    const __m512 zero = _mm512_setzero_ps();
    for (uint32_t i = 0; i < n; i += VL) {
        const uint32_t left = n - i < VL ? n - i : VL;
        const uint32_t out = 2 * left;
        const __mmask16 k = left == VL ? 0xFFFF : (__mmask16)((1u << left) - 1u);
        const __mmask16 k0 = out >= VL ? 0xFFFF : (__mmask16)((1u << out) - 1u);
        const __mmask16 k1 = out <= VL ? 0 : (__mmask16)((1u << (out - VL)) - 1u);
        const __m512 e = _mm512_maskz_loadu_ps(k, even + i);
        const __m512 o = _mm512_maskz_loadu_ps(k, odd + i);
        __m512 lo = _mm512_permutex2var_ps(e, il, o);
        __m512 hi = _mm512_permutex2var_ps(e, ih, o);
        if (relu) {
            lo = _mm512_maskz_mov_ps(
                _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(k0, x + 2 * i), zero, _CMP_GT_OQ), lo);
            hi = _mm512_maskz_mov_ps(
                _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(k1, x + 2 * i + VL), zero, _CMP_GT_OQ),
                hi);
        }
        _mm512_mask_storeu_ps(dx + 2 * i, k0, lo);
        _mm512_mask_storeu_ps(dx + 2 * i + VL, k1, hi);
    }
}

/* dst[0..n) = src masked by x > 0 when relu. */
INLINE TARGET void mask_row(float *dst, const float *src, const float *x, uint32_t n, int relu)
{
    const __m512 zero = _mm512_setzero_ps();
    for (uint32_t i = 0; i < n; i += VL) {
        const __mmask16 k = n - i >= VL ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        __m512 v = _mm512_maskz_loadu_ps(k, src + i);
        if (relu)
            v = _mm512_maskz_mov_ps(
                _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(k, x + i), zero, _CMP_GT_OQ), v);
        _mm512_mask_storeu_ps(dst + i, k, v);
    }
}

/* dx of images [0..g) from the group's input gradient dS. */
static TARGET void unpack_dx(const conv_direct *p, const float *ds, const float *x, float *dx,
                             uint32_t g, int relu)
{
    const size_t in_count = (size_t)p->c_in * p->h * p->w;
    const size_t phase = (size_t)p->c_in * p->plane;
    for (uint32_t gi = 0; gi < g; gi++)
        for (uint32_t c = 0; c < p->c_in; c++) {
            const size_t img = gi * in_count + (size_t)c * p->h * p->w;
            const float *src = ds + (size_t)c * p->plane + (size_t)gi * p->pos;
            if (p->phases == 1) {
                mask_row(dx + img, src, x + img, p->pos, relu);
                continue;
            }
            for (uint32_t iy = 0; iy < p->h; iy++) {
                const float *row = src + (iy & 1) * 2 * phase + (size_t)(iy >> 1) * p->wo;
                const size_t at = img + (size_t)iy * p->w;
                merge_row(dx + at, row, row + phase, x + at, p->wo, relu);
            }
        }
}

/* Sum of x[0..n) in 16 float lanes. */
INLINE TARGET __m512 sum_lanes(const float *x, uint32_t n)
{
    __m512 acc = _mm512_setzero_ps();
    for (uint32_t i = 0; i < n; i += VL) {
        const __mmask16 k = n - i >= VL ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(k, x + i));
    }
    return acc;
}

/* stats[0] = sum, stats[1] = sum of squared deviations from the plane's mean. */
static TARGET void plane_stats(const float *x, uint32_t n, double *stats)
{
    const double sum = _mm512_reduce_add_ps(sum_lanes(x, n));
    const __m512 mean = _mm512_set1_ps((float)(sum / n));
    __m512 acc = _mm512_setzero_ps();
    for (uint32_t i = 0; i < n; i += VL) {
        const __mmask16 k = n - i >= VL ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        const __m512 d = _mm512_maskz_sub_ps(k, _mm512_maskz_loadu_ps(k, x + i), mean);
        acc = _mm512_fmadd_ps(d, d, acc);
    }
    stats[0] = sum;
    stats[1] = _mm512_reduce_add_ps(acc);
}

/* ---- plan ---- */

static int generic_forced(void)
{
    const char *v = getenv("LARCH_NN_GENERIC");
    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

/* Splits a = kernel offset - pad into (phase, shift) at the plan's stride. */
static void tap_axis(const conv_direct *p, uint32_t kofs, uint32_t *phase, int32_t *shift)
{
    const int32_t a = (int32_t)kofs - (int32_t)p->pad;
    if (p->stride == 1) {
        *phase = 0;
        *shift = a;
        return;
    }
    *phase = (uint32_t)(a & 1);
    *shift = (a - (int32_t)*phase) / 2;
}

/* Lane masks [n_taps][nvec] of positions whose shifted position (dy, dx) lies in the grid. */
static void fill_masks(const conv_direct *p, uint16_t *mask, const int32_t *dys, const int32_t *dxs,
                       uint32_t n_taps)
{
    const uint32_t total = p->group * p->pos;
    for (uint32_t t = 0; t < n_taps; t++)
        for (uint32_t v = 0; v < p->nvec; v++) {
            uint16_t bits = 0;
            for (uint32_t l = 0; l < VL; l++) {
                const uint32_t at = v * VL + l;
                if (at >= total)
                    continue;
                const int32_t q = (int32_t)(at % p->pos);
                const int32_t y = q / (int32_t)p->wo + dys[t], x = q % (int32_t)p->wo + dxs[t];
                if (y >= 0 && y < (int32_t)p->ho && x >= 0 && x < (int32_t)p->wo)
                    bits |= (uint16_t)(1u << l);
            }
            mask[(size_t)t * p->nvec + v] = bits;
        }
}

static uint32_t choose_group(uint32_t pos)
{
    uint32_t best = 1;
    double best_fill = 0.0;
    for (uint32_t g = 1; g <= GROUP_MAX; g++) {
        const uint32_t total = g * pos;
        const double fill = (double)total / (double)(((total + VL - 1) / VL) * VL);
        if (fill > best_fill + 1e-9) {
            best = g;
            best_fill = fill;
        }
        if (total >= GROUP_MIN_POSITIONS && fill > 0.999)
            break;
    }
    while (best * pos < GROUP_MIN_POSITIONS && best * 2 <= GROUP_MAX)
        best *= 2;
    return best;
}

conv_direct *conv_direct_new(const larch_conv2d *conv, int *out_of_memory)
{
    *out_of_memory = 0;
    if (generic_forced() || !__builtin_cpu_supports("avx512f"))
        return NULL;
    const uint32_t k = conv->k, s = conv->stride;
    if (k * k > MAX_TAPS || (s != 1 && s != 2))
        return NULL;
    if (s == 1 && (conv->h_out != conv->h || conv->w_out != conv->w))
        return NULL;
    if (s == 2 && (conv->h % 2 != 0 || conv->w % 2 != 0 || conv->h_out * 2 != conv->h ||
                   conv->w_out * 2 != conv->w))
        return NULL;

    conv_direct *p = calloc(1, sizeof *p);
    if (p == NULL)
        goto nomem;
    p->c_in = conv->c_in;
    p->c_out = conv->c_out;
    p->k = k;
    p->kk = k * k;
    p->stride = s;
    p->pad = conv->pad;
    p->h = conv->h;
    p->w = conv->w;
    p->ho = conv->h_out;
    p->wo = conv->w_out;
    p->phases = s == 1 ? 1 : 4;
    p->pos = p->ho * p->wo;
    p->group = choose_group(p->pos);
    if (p->group > conv->max_batch)
        p->group = conv->max_batch;
    p->nvec = (p->group * p->pos + VL - 1) / VL;
    p->plane = (size_t)p->nvec * VL;

    int32_t dys[MAX_TAPS], dxs[MAX_TAPS];
    int32_t max_shift = 0;
    for (uint32_t ky = 0; ky < k; ky++)
        for (uint32_t kx = 0; kx < k; kx++) {
            const uint32_t t = ky * k + kx;
            uint32_t py, px;
            tap_axis(p, ky, &py, &dys[t]);
            tap_axis(p, kx, &px, &dxs[t]);
            const int32_t shift = dys[t] * (int32_t)p->wo + dxs[t];
            if (abs(shift) > max_shift)
                max_shift = abs(shift);
            const uint32_t ph = py * 2 + px;
            p->f_off[t] = (int32_t)(ph * p->c_in * p->plane) + shift;
            p->b_tap[ph][p->b_n[ph]] = (uint8_t)t;
            p->b_off[ph][p->b_n[ph]] = -shift;
            p->b_n[ph]++;
        }
    p->margin = ((size_t)max_shift + 2 * VL - 1) / VL * VL;

    p->f_mask = malloc((size_t)p->kk * p->nvec * sizeof *p->f_mask);
    p->a_fwd = larch_tensor_alloc((size_t)p->kk * p->c_in * p->c_out);
    p->v_img = malloc(p->nvec);
    p->v_lo = malloc(p->nvec * sizeof *p->v_lo);
    if (p->f_mask == NULL || p->a_fwd == NULL || p->v_img == NULL || p->v_lo == NULL)
        goto nomem;
    for (uint32_t v = 0; v < p->nvec; v++) {
        const uint32_t img = v * VL / p->pos;
        p->v_img[v] = (uint8_t)img;
        uint16_t lo = 0;
        for (uint32_t l = 0; l < VL; l++)
            if ((v * VL + l) / p->pos == img)
                lo |= (uint16_t)(1u << l);
        p->v_lo[v] = lo;
    }
    fill_masks(p, p->f_mask, dys, dxs, p->kk);
    for (uint32_t ph = 0; ph < p->phases; ph++) {
        if (p->b_n[ph] == 0)
            continue;
        int32_t bdy[MAX_TAPS], bdx[MAX_TAPS];
        for (uint32_t j = 0; j < p->b_n[ph]; j++) {
            bdy[j] = -dys[p->b_tap[ph][j]];
            bdx[j] = -dxs[p->b_tap[ph][j]];
        }
        p->b_mask[ph] = malloc((size_t)p->b_n[ph] * p->nvec * sizeof *p->b_mask[ph]);
        p->a_bwd[ph] = larch_tensor_alloc((size_t)p->b_n[ph] * p->c_in * p->c_out);
        if (p->b_mask[ph] == NULL || p->a_bwd[ph] == NULL)
            goto nomem;
        fill_masks(p, p->b_mask[ph], bdy, bdx, p->b_n[ph]);
    }

    p->s_floats = 2 * p->margin + (size_t)p->phases * p->c_in * p->plane;
    /* Group buffers for the outputs only where the kernels cannot store into NCHW directly. */
    const int scatter = p->pos >= VL;
    p->o_floats = scatter ? 0 : (size_t)p->c_out * p->plane;
    p->d_floats = 2 * p->margin + (size_t)p->c_out * p->plane;
    p->ds_floats = scatter && p->phases == 1 ? 0 : (size_t)p->phases * p->c_in * p->plane;
    return p;

nomem:
    conv_direct_free(p);
    *out_of_memory = 1;
    return NULL;
}

void conv_direct_free(conv_direct *p)
{
    if (p == NULL)
        return;
    free(p->f_mask);
    free(p->v_img);
    free(p->v_lo);
    larch_tensor_free(p->a_fwd);
    for (int ph = 0; ph < 4; ph++) {
        free(p->b_mask[ph]);
        larch_tensor_free(p->a_bwd[ph]);
    }
    free(p);
}

size_t conv_direct_wgrad_floats(const conv_direct *p)
{
    const size_t k_blocks = ((size_t)p->kk * p->c_in + K2_KR - 1) / K2_KR;
    return k_blocks * p->c_out * K2_KR;
}

void conv_direct_wgrad_add(const conv_direct *p, const float *parts, uint32_t n_parts,
                           size_t part_stride, float *wgrad, uint32_t task, uint32_t n_tasks)
{
    const uint32_t n_k = p->kk * p->c_in;
    uint32_t n_tiles = 0;
    for (uint32_t m0 = 0; m0 < p->c_out; m0 += k2_rows(p->c_out, m0))
        n_tiles++;
    const uint32_t first = (uint32_t)((uint64_t)n_tiles * task / n_tasks);
    const uint32_t last = (uint32_t)((uint64_t)n_tiles * (task + 1) / n_tasks);
    uint32_t tile = 0;
    for (uint32_t m0 = 0; m0 < p->c_out; tile++) {
        const uint32_t mr = k2_rows(p->c_out, m0);
        if (tile < first || tile >= last) {
            m0 += mr;
            continue;
        }
        for (uint32_t k0 = 0; k0 < n_k; k0 += K2_KR) {
            const uint32_t kr = n_k - k0 < K2_KR ? n_k - k0 : K2_KR;
            const size_t at = ((size_t)(k0 / K2_KR) * p->c_out + m0) * K2_KR;
            for (uint32_t r = 0; r < mr; r++)
                for (uint32_t q = 0; q < kr; q++) {
                    const uint32_t i = r * K2_KR + q, k = k0 + q;
                    const size_t slot = at + (k2_reduced(mr, kr) ? k2_slot(i) : i);
                    float *w =
                        &wgrad[((size_t)(m0 + r) * p->c_in + k % p->c_in) * p->kk + k / p->c_in];
                    for (uint32_t part = 0; part < n_parts; part++)
                        *w += parts[part * part_stride + slot];
                }
        }
        m0 += mr;
    }
}

size_t conv_direct_scratch_floats(const conv_direct *p)
{
    const size_t fwd = p->o_floats, bwd = p->d_floats + p->ds_floats;
    return p->s_floats + (fwd > bwd ? fwd : bwd);
}

void conv_direct_pack_weights(conv_direct *p, const float *weight, int backward)
{
    const uint32_t c_in = p->c_in, c_out = p->c_out, kk = p->kk;
    /* a_fwd[block][t][s][r] = W[m0 + r][s][t] */
    for (uint32_t m0 = 0; m0 < c_out && !backward; m0 += K1_MR) {
        const uint32_t mr = c_out - m0 < K1_MR ? c_out - m0 : K1_MR;
        float *a = p->a_fwd + (size_t)m0 * kk * c_in;
        for (uint32_t t = 0; t < kk; t++)
            for (uint32_t s = 0; s < c_in; s++)
                for (uint32_t r = 0; r < mr; r++)
                    *a++ = weight[((size_t)(m0 + r) * c_in + s) * kk + t];
    }
    if (!backward)
        return;
    /* a_bwd[ph][block][j][m][r] = W[m][c0 + r][tap j of ph] */
    for (uint32_t ph = 0; ph < p->phases; ph++) {
        const uint32_t nb = p->b_n[ph];
        for (uint32_t c0 = 0; c0 < c_in; c0 += K1_MR) {
            const uint32_t cr = c_in - c0 < K1_MR ? c_in - c0 : K1_MR;
            float *a = p->a_bwd[ph] + (size_t)c0 * nb * c_out;
            for (uint32_t j = 0; j < nb; j++)
                for (uint32_t m = 0; m < c_out; m++)
                    for (uint32_t r = 0; r < cr; r++)
                        *a++ = weight[((size_t)m * c_in + c0 + r) * kk + p->b_tap[ph][j]];
        }
    }
}

/* ---- passes ---- */

TARGET void conv_direct_forward(const conv_direct *p, const float *x, float *out, uint32_t i0,
                                uint32_t i1, int relu_in, double *stats, float *scratch)
{
    const size_t in_count = (size_t)p->c_in * p->h * p->w;
    const size_t out_count = (size_t)p->c_out * p->pos;
    float *s = scratch + p->margin;
    float *o = scratch + p->s_floats;
    /* Straight into the NCHW output unless a vector can span more than two images. */
    const int scatter = p->pos >= VL;
    for (uint32_t i = i0; i < i1; i += p->group) {
        const uint32_t g = i1 - i < p->group ? i1 - i : p->group;
        pack_input(p, x + i * in_count, g, relu_in, s);
        prefetch_plan pp = {0};
        if (i + g < i1) {
            /* The next group's input, and the lines its output will overwrite. */
            const uint32_t g2 = i1 - (i + g) < p->group ? i1 - (i + g) : p->group;
            prefetch_add(&pp, x + (i + g) * in_count, g2 * in_count * sizeof(float));
            prefetch_add(&pp, out + (i + g) * out_count, g2 * out_count * sizeof(float));
        }
        k1_job j = {p->a_fwd,  s,       p->plane, p->c_in,  p->kk,    p->f_off,
                    p->f_mask, p->nvec, o,        p->plane, p->c_out, g * p->pos,
                    0,         p->pos,  p->v_img, p->v_lo,  NULL,     &pp};
        if (scatter) {
            j.out = out + i * out_count;
            j.out_stride = p->pos;
            j.img_stride = out_count;
        }
        k1_run(&j);
        for (uint32_t gi = 0; gi < g; gi++)
            for (uint32_t m = 0; m < p->c_out; m++) {
                float *dst = out + (i + gi) * out_count + (size_t)m * p->pos;
                if (!scatter)
                    copy_row(dst, o + (size_t)m * p->plane + (size_t)gi * p->pos, p->pos, 0);
                if (stats != NULL)
                    plane_stats(dst, p->pos, stats + 2 * ((size_t)(i + gi) * p->c_out + m));
            }
    }
}

/* D rows of images [0..g): a * g + b * z + c (or dy), zero to the vector boundary. */
static TARGET void pack_grad(const conv_direct *p, const conv_direct_grad *gr, size_t first,
                             uint32_t g, float *d)
{
    const size_t out_count = (size_t)p->c_out * p->pos;
    const uint32_t n_pos = g * p->pos;
    const size_t end = ((size_t)n_pos + VL - 1) / VL * VL;
    const __m512 zero = _mm512_setzero_ps();
    for (uint32_t m = 0; m < p->c_out; m++) {
        float *row = d + (size_t)m * p->plane;
        const __m512 a = _mm512_set1_ps(gr->a ? gr->a[m] : 1.0f);
        const __m512 b = _mm512_set1_ps(gr->b ? gr->b[m] : 0.0f);
        const __m512 c = _mm512_set1_ps(gr->c ? gr->c[m] : 0.0f);
        const __m512 ma = _mm512_set1_ps(gr->mask_a ? gr->mask_a[m] : 0.0f);
        const __m512 mb = _mm512_set1_ps(gr->mask_b ? gr->mask_b[m] : 0.0f);
        for (uint32_t gi = 0; gi < g; gi++) {
            const size_t at = (first + gi) * out_count + (size_t)m * p->pos;
            const float *dy = gr->dy + at;
            float *dst = row + (size_t)gi * p->pos;
            if (gr->a == NULL && gr->mask_a == NULL) {
                copy_row(dst, dy, p->pos, 0);
                continue;
            }
            const float *z = gr->z + at;
            for (uint32_t q = 0; q < p->pos; q += VL) {
                const __mmask16 k =
                    p->pos - q >= VL ? 0xFFFF : (__mmask16)((1u << (p->pos - q)) - 1u);
                _mm_prefetch((const char *)(z + q + PASS_AHEAD), _MM_HINT_T0);
                _mm_prefetch((const char *)(dy + q + PASS_AHEAD), _MM_HINT_T0);
                const __m512 zv = _mm512_maskz_loadu_ps(k, z + q);
                __m512 v = _mm512_maskz_loadu_ps(k, dy + q);
                if (gr->mask_a != NULL)
                    v = _mm512_maskz_mov_ps(
                        _mm512_cmp_ps_mask(_mm512_fmadd_ps(ma, zv, mb), zero, _CMP_GT_OQ), v);
                if (gr->a != NULL)
                    v = _mm512_fmadd_ps(a, v, _mm512_fmadd_ps(b, zv, c));
                _mm512_mask_storeu_ps(dst + q, k, v);
            }
        }
        for (size_t q = n_pos; q < end; q++)
            row[q] = 0.0f;
    }
}

TARGET void conv_direct_backward(const conv_direct *p, const float *x, const conv_direct_grad *gr,
                                 float *wgrad_part, float *dx, uint32_t i0, uint32_t i1,
                                 int relu_in, float *scratch)
{
    const size_t in_count = (size_t)p->c_in * p->h * p->w;
    float *s = scratch + p->margin;
    float *d = scratch + p->s_floats + p->margin;
    float *ds = scratch + p->s_floats + p->d_floats;
    /* Last group first: the gradient sums just read the batch in ascending order, so its end is
     * what the caches hold. */
    const uint32_t n_groups = (i1 - i0 + p->group - 1) / p->group;
    for (uint32_t k = n_groups; k-- > 0;) {
        const uint32_t i = i0 + k * p->group;
        const uint32_t g = i1 - i < p->group ? i1 - i : p->group;
        const uint32_t n_pos = g * p->pos;
        pack_input(p, x + i * in_count, g, relu_in, s);
        pack_grad(p, gr, i, g, d);
        /* The next group down: its input, output gradient and convolution output. */
        prefetch_plan pp = {0};
        if (k > 0) {
            const uint32_t i2 = i0 + (k - 1) * p->group;
            const size_t out_count = (size_t)p->c_out * p->pos;
            prefetch_add(&pp, x + i2 * in_count, (size_t)p->group * in_count * sizeof(float));
            prefetch_add(&pp, gr->dy + i2 * out_count,
                         (size_t)p->group * out_count * sizeof(float));
            if (gr->z != NULL)
                prefetch_add(&pp, gr->z + i2 * out_count,
                             (size_t)p->group * out_count * sizeof(float));
            if (dx != NULL)
                prefetch_add(&pp, dx + i2 * in_count, (size_t)p->group * in_count * sizeof(float));
        }
        k2_job kj = {d,        p->plane,  s,       p->plane, p->c_out,   p->c_in, p->kk,
                     p->f_off, p->f_mask, p->nvec, n_pos,    wgrad_part, &pp};
        k2_run(&kj);
        if (dx == NULL)
            continue;
        if (p->phases == 1 && p->pos >= VL) {
            /* Stride 1: straight into dx, masked by x > 0 for a ReLU input. */
            k1_job j = {p->a_bwd[0],
                        d,
                        p->plane,
                        p->c_out,
                        p->b_n[0],
                        p->b_off[0],
                        p->b_mask[0],
                        p->nvec,
                        dx + i * in_count,
                        p->pos,
                        p->c_in,
                        n_pos,
                        in_count,
                        p->pos,
                        p->v_img,
                        p->v_lo,
                        relu_in ? x + i * in_count : NULL,
                        NULL};
            k1_run(&j);
            continue;
        }
        for (uint32_t ph = 0; ph < p->phases; ph++) {
            float *out = ds + (size_t)ph * p->c_in * p->plane;
            if (p->b_n[ph] == 0) {
                for (uint32_t c = 0; c < p->c_in; c++)
                    memset(out + (size_t)c * p->plane, 0, n_pos * sizeof(float));
                continue;
            }
            k1_job j = {p->a_bwd[ph],
                        d,
                        p->plane,
                        p->c_out,
                        p->b_n[ph],
                        p->b_off[ph],
                        p->b_mask[ph],
                        p->nvec,
                        out,
                        p->plane,
                        p->c_in,
                        n_pos,
                        0,
                        p->pos,
                        p->v_img,
                        p->v_lo,
                        NULL,
                        NULL};
            k1_run(&j);
        }
        unpack_dx(p, ds, x + i * in_count, dx + i * in_count, g, relu_in);
    }
}

TARGET void conv_direct_affine(const conv_direct *p, const float *z, float *y, const float *a,
                               const float *b, int relu, uint32_t i0, uint32_t i1)
{
    const __m512 zero = _mm512_setzero_ps();
    const uint32_t n = p->pos;
    /* Backwards from the last image: the convolution pass just wrote the batch forwards. */
    for (size_t plane = (size_t)i1 * p->c_out; plane-- > (size_t)i0 * p->c_out;) {
        const uint32_t m = (uint32_t)(plane % p->c_out);
        const size_t at = plane * n;
        const __m512 va = _mm512_set1_ps(a[m]), vb = _mm512_set1_ps(b[m]);
        for (uint32_t q = (n - 1) / VL * VL;; q -= VL) {
            const __mmask16 k = n - q >= VL ? 0xFFFF : (__mmask16)((1u << (n - q)) - 1u);
            _mm_prefetch((const char *)(z + at + q - PASS_AHEAD), _MM_HINT_T0);
            _mm_prefetch((const char *)(y + at + q - PASS_AHEAD), _MM_HINT_T0);
            __m512 v = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(k, z + at + q), vb);
            if (relu)
                v = _mm512_max_ps(v, zero);
            _mm512_mask_storeu_ps(y + at + q, k, v);
            if (q == 0)
                break;
        }
    }
}

TARGET void conv_direct_grad_sums(const conv_direct *p, const float *dy, const float *z,
                                  const float *mean, const float *mask_a, const float *mask_b,
                                  uint32_t i0, uint32_t i1, double *sums)
{
    const __m512 zero = _mm512_setzero_ps();
    const uint32_t n = p->pos;
    for (uint32_t i = i0; i < i1; i++)
        for (uint32_t m = 0; m < p->c_out; m++) {
            const size_t at = ((size_t)i * p->c_out + m) * n;
            const __m512 mu = _mm512_set1_ps(mean[m]);
            const __m512 ma = _mm512_set1_ps(mask_a ? mask_a[m] : 0.0f);
            const __m512 mb = _mm512_set1_ps(mask_b ? mask_b[m] : 0.0f);
            __m512 s1 = zero, s2 = zero;
            for (uint32_t q = 0; q < n; q += VL) {
                const __mmask16 k = n - q >= VL ? 0xFFFF : (__mmask16)((1u << (n - q)) - 1u);
                /* Software prefetch well ahead: nothing here hides a miss. */
                _mm_prefetch((const char *)(z + at + q + PASS_AHEAD), _MM_HINT_T0);
                _mm_prefetch((const char *)(dy + at + q + PASS_AHEAD), _MM_HINT_T0);
                const __m512 zv = _mm512_maskz_loadu_ps(k, z + at + q);
                __m512 g = _mm512_maskz_loadu_ps(k, dy + at + q);
                if (mask_a != NULL)
                    g = _mm512_maskz_mov_ps(
                        _mm512_cmp_ps_mask(_mm512_fmadd_ps(ma, zv, mb), zero, _CMP_GT_OQ), g);
                s1 = _mm512_add_ps(s1, g);
                s2 = _mm512_fmadd_ps(g, _mm512_maskz_sub_ps(k, zv, mu), s2);
            }
            sums[2 * ((size_t)i * p->c_out + m)] = _mm512_reduce_add_ps(s1);
            sums[2 * ((size_t)i * p->c_out + m) + 1] = _mm512_reduce_add_ps(s2);
        }
}

#else /* not x86-64 with GCC or Clang: no direct engine, every convolution uses im2col + sgemm */

conv_direct *conv_direct_new(const larch_conv2d *conv, int *out_of_memory)
{
    (void)conv;
    *out_of_memory = 0;
    return NULL;
}

void conv_direct_free(conv_direct *plan)
{
    (void)plan;
}

size_t conv_direct_scratch_floats(const conv_direct *plan)
{
    (void)plan;
    return 0;
}

size_t conv_direct_wgrad_floats(const conv_direct *plan)
{
    (void)plan;
    return 0;
}

void conv_direct_pack_weights(conv_direct *plan, const float *weight, int backward)
{
    (void)plan, (void)weight, (void)backward;
}

void conv_direct_forward(const conv_direct *plan, const float *x, float *out, uint32_t i0,
                         uint32_t i1, int relu_in, double *stats, float *scratch)
{
    (void)plan, (void)x, (void)out, (void)i0, (void)i1, (void)relu_in, (void)stats, (void)scratch;
}

void conv_direct_affine(const conv_direct *plan, const float *z, float *y, const float *a,
                        const float *b, int relu, uint32_t i0, uint32_t i1)
{
    (void)plan, (void)z, (void)y, (void)a, (void)b, (void)relu, (void)i0, (void)i1;
}

void conv_direct_grad_sums(const conv_direct *plan, const float *dy, const float *z,
                           const float *mean, const float *mask_a, const float *mask_b, uint32_t i0,
                           uint32_t i1, double *sums)
{
    (void)plan, (void)dy, (void)z, (void)mean, (void)mask_a, (void)mask_b, (void)i0, (void)i1;
    (void)sums;
}

void conv_direct_backward(const conv_direct *plan, const float *x, const conv_direct_grad *grad,
                          float *wgrad_part, float *dx, uint32_t i0, uint32_t i1, int relu_in,
                          float *scratch)
{
    (void)plan, (void)x, (void)grad, (void)wgrad_part, (void)dx, (void)i0, (void)i1;
    (void)relu_in, (void)scratch;
}

void conv_direct_wgrad_add(const conv_direct *plan, const float *parts, uint32_t n_parts,
                           size_t part_stride, float *wgrad, uint32_t task, uint32_t n_tasks)
{
    (void)plan, (void)parts, (void)n_parts, (void)part_stride, (void)wgrad, (void)task;
    (void)n_tasks;
}

#endif
