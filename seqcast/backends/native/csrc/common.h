/* What the C kernels share: vectors, vectorized exp, sigmoid and tanh, strided loads and
   stores, and the small matrix products. The kernels (lstm.c, recurrent.c, wavenet.c) run
   the chapter's recurrent layers and WaveNets on the CPU; heads.c, the distribution heads'
   training losses.

   The chapter's models are tiny (20 units, batch 32): per time step, a library kernel pays
   call overhead comparable to the arithmetic, and the peephole cell has no library kernel
   at all. Here one C call runs a whole layer over all T steps (a whole stack for the
   WaveNets), forward or backward, weight gradients included.

   The recurrent layers run the batch along the vector lanes. Everything they keep is
   feature-major: row r of a step holds feature r of every batch row, padded from B to Bp,
   a multiple of LANES. So each unit's gates are computed on whole vectors of batch rows,
   whatever the number of units, and each step's products are small matrix products whose
   weights are broadcast scalars (the LSTM's, with G = 4H gate rows):
     forward   z_t  (G x Bp) = b + [W_ih W_hh] [x_t; h_{t-1}]     (one product, K = I + H)
     backward  [dx_t; dh_{t-1}] (K x Bp) = [W_ih W_hh]^T dz_t
   The weight gradients are one product over all steps, dz (G x T Bp) [x; h_prev]^T
   (T Bp x K), both kept in that layout. The WaveNets' layout is in wavenet.c.

   Inputs and outputs in the caller's layout, such as x (B, T, I), are read and written
   through element strides. All arrays are float32; gates in torch.nn's order. Lanes past B
   are zero in inputs, hold finite values in what the forward pass keeps, and zero in every
   gradient, so they never reach a result.

   Every exported function (seqcast.h) takes one struct of named fields and returns an enum
   seqcast_status: SEQCAST_OK, SEQCAST_NO_MEMORY when it could not allocate its scratch
   memory, SEQCAST_BAD_ARGUMENT when a size or pointer would read out of bounds.

   NaN and infinities go through every activation as they do in torch, in every vector
   width: the clamps and ReLUs below keep NaN (x86's max/min return their second operand
   when either is NaN, so the input goes second), and +-inf saturate. */

#ifndef SEQCAST_COMMON_H
#define SEQCAST_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seqcast.h"

#define R __restrict__

/* Vectors of LANES floats (GCC and Clang vector extensions), one register: 16 lanes with
   AVX-512, 8 with AVX, 4 elsewhere (SSE, NEON). */
#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif
typedef float vf __attribute__((vector_size(4 * LANES)));
typedef int32_t vi __attribute__((vector_size(4 * LANES)));
typedef float vfu __attribute__((vector_size(4 * LANES), aligned(4)));
#define V(ptr) (*(vfu *)(ptr)) /* no alignment assumed: the same speed when aligned */
#define INLINE static inline __attribute__((always_inline))

static inline float *alloc_(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, sizeof(float) * (n ? n : 1))) return NULL;
    memset(p, 0, sizeof(float) * n);
    return (float *)p;
}

#if defined(__AVX512F__)
#include <immintrin.h>
INLINE vf clamp_(vf x, float lo, float hi) { /* NaN stays NaN: x is the second operand */
    return _mm512_min_ps(_mm512_set1_ps(hi), _mm512_max_ps(_mm512_set1_ps(lo), x));
}
/* 1 / x: the 14-bit hardware estimate and one Newton step, to about 1 ulp; faster than a
   division */
INLINE vf recip_(vf x) {
    const vf r = _mm512_rcp14_ps(x);
    return r * (2.0f - x * r);
}
#elif defined(__AVX__)
#include <immintrin.h>
INLINE vf clamp_(vf x, float lo, float hi) { /* NaN stays NaN: x is the second operand */
    return _mm256_min_ps(_mm256_set1_ps(hi), _mm256_max_ps(_mm256_set1_ps(lo), x));
}
/* 1 / x: the 12-bit hardware estimate and one Newton step, to about 1 ulp */
INLINE vf recip_(vf x) {
    const vf r = _mm256_rcp_ps(x);
    return r * (2.0f - x * r);
}
#else
INLINE vf clamp_(vf x, float lo, float hi) { /* NaN fails both tests and stays NaN */
    const vi below = x < lo, above = x > hi;
    const vf l = (vf){0} + lo, h = (vf){0} + hi; /* not x * 0 + lo: that is NaN for +-inf */
    return (vf)((below & (vi)l) | (above & (vi)h) | (~(below | above) & (vi)x));
}
INLINE vf recip_(vf x) { return 1.0f / x; }
#endif

/* exp(x) to about 1 ulp: Cody-Waite range reduction and Cephes' degree-6 polynomial, on
   whole vectors (libm's expf is a scalar call). The argument is clamped to [-87, 87], so
   no sigmoid below comes out denormal. */
INLINE vf exp_(vf x) {
    x = clamp_(x, -87.0f, 87.0f);
    vf n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round(x / ln 2) */
    vf r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    vf q = r * 1.9875691500e-4f + 1.3981999507e-3f;
    q = q * r + 8.3334519073e-3f;
    q = q * r + 4.1665795894e-2f;
    q = q * r + 1.6666665459e-1f;
    q = q * r + 5.0000001201e-1f;
    q = q * r * r + r + 1.0f;
    vi e = (__builtin_convertvector(n, vi) + 127) << 23;
    return q * (vf)e;
}

/* sqrt on whole vectors (one instruction where there is AVX or SSE) */
INLINE vf sqrt_(vf x) {
#if defined(__AVX512F__)
    return _mm512_sqrt_ps(x);
#elif defined(__AVX__)
    return _mm256_sqrt_ps(x);
#else
    vf r = x;
    for (int l = 0; l < LANES; ++l) r[l] = __builtin_sqrtf(x[l]);
    return r;
#endif
}

/* max(x, 0) as torch.relu: NaN stays NaN (it fails x <= 0) */
INLINE vf relu_(vf x) { return (vf)((vi)x & ~(vi)(x <= 0.0f)); }
/* The gradient through a ReLU whose output is y, as torch's: zero where y <= 0 */
INLINE vf relu_grad_(vf g, vf y) { return (vf)((vi)g & ~(vi)(y <= 0.0f)); }

INLINE vf sigmoid_(vf x) { return recip_(1.0f + exp_(-x)); }
INLINE vf tanh_(vf x) { return 2.0f * recip_(1.0f + exp_(-2.0f * x)) - 1.0f; }

/* The lanes of n batch rows from a strided array (zero past n), and back */
INLINE vf gather_(const float *R p, ptrdiff_t stride, int n) {
    if (n >= LANES && stride == 1) return V(p);
#if defined(__AVX512F__)
    if (stride > 0 && stride < (1 << 26)) { /* every lane's offset fits an int32 */
        const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        const __mmask16 keep = n >= LANES ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
        return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), keep,
                                        _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)stride)), p, 4);
    }
#elif defined(__AVX2__)
    if (stride > 0 && stride < (1 << 27)) {
        const __m256i lane = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
        const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
        return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), p,
                                        _mm256_mullo_epi32(lane, _mm256_set1_epi32((int)stride)),
                                        _mm256_castsi256_ps(keep), 4);
    }
#endif
    float v[LANES] = {0};
    for (int l = 0; l < n && l < LANES; ++l) v[l] = p[l * stride];
    return V(v);
}
INLINE void scatter_(float *R p, ptrdiff_t stride, int n, vf x) {
    if (n >= LANES && stride == 1) {
        V(p) = x;
        return;
    }
    for (int l = 0; l < n && l < LANES; ++l) p[l * stride] = x[l];
}

/* Output rows per tile: 8 x 2 vectors of accumulators fill half of AVX-512's 32 registers;
   with 16 registers (AVX, SSE), 4 x 2 */
#define TILE_ROWS (LANES == 16 ? 8 : 4)

/* One tile of out (+)= bias + sum_k w[k] x_k: m output rows (8 or 4, or fewer at the end)
   by n (2 or 1) vectors. out rows at stride ldo; w[k * ldw + r] is row r's weight for
   input row k (so the m weights of a k are adjacent); input rows x_k at stride ldx. With
   acc, the tile adds to what out holds. The 16 accumulators are independent chains of
   multiply-adds, enough to keep both FMA units busy. */
INLINE void tile_(float *R out, ptrdiff_t ldo, const float *R w, ptrdiff_t ldw,
                  const float *R bias, const float *R x, ptrdiff_t ldx, int K, const int m,
                  const int n, const int acc) {
    vf a[8][2];
    for (int r = 0; r < m; ++r)
        for (int v = 0; v < n; ++v)
            a[r][v] = (acc ? V(out + r * ldo + v * LANES) : (vf){0}) + (bias ? bias[r] : 0.0f);
    for (int k = 0; k < K; ++k, x += ldx, w += ldw) {
        const vf x0 = V(x), x1 = n > 1 ? V(x + LANES) : x0;
        for (int r = 0; r < m; ++r) {
            a[r][0] += w[r] * x0;
            if (n > 1) a[r][1] += w[r] * x1;
        }
    }
    for (int r = 0; r < m; ++r)
        for (int v = 0; v < n; ++v) V(out + r * ldo + v * LANES) = a[r][v];
}

/* out (M rows of nv vectors, stride ldo) (+)= bias + w^T x, with w (K, ldw) holding row
   r's weights in column r and x K rows of nv vectors at stride ldx; with acc, added to
   what out holds. */
static inline void product_(float *R out, ptrdiff_t ldo, const float *R w, ptrdiff_t ldw,
                     const float *R bias, const float *R x, ptrdiff_t ldx, int K, int M, int nv,
                     int acc) {
    for (int r0 = 0, rows; r0 < M; r0 += rows) {
        const float *br = bias ? bias + r0 : NULL;
        const int m = M - r0;
        rows = m >= TILE_ROWS ? TILE_ROWS : m >= 4 ? 4 : m;
        for (int v0 = 0; v0 < nv; v0 += 2) {
            float *o = out + r0 * ldo + v0 * LANES;
            const float *xv = x + v0 * LANES;
            const int two = nv - v0 >= 2;
#define TILE_(rows, vecs)                                                                      \
    (acc ? tile_(o, ldo, w + r0, ldw, br, xv, ldx, K, rows, vecs, 1)                           \
         : tile_(o, ldo, w + r0, ldw, br, xv, ldx, K, rows, vecs, 0))
            if (TILE_ROWS == 8 && m >= 8) {
                if (two) TILE_(8, 2);
                else TILE_(8, 1);
            } else if (m >= 4) {
                if (two) TILE_(4, 2);
                else TILE_(4, 1);
            } else {
                if (two) TILE_(m, 2);
                else TILE_(m, 1);
            }
#undef TILE_
        }
    }
}

#if defined(__AVX512F__)
INLINE float hsum_(vf v) { return _mm512_reduce_add_ps(v); }
#else
INLINE float hsum_(vf v) {
    float s = 0.0f;
    for (int l = 0; l < LANES; ++l) s += v[l];
    return s;
}
#endif

/* One tile of out[i * ldo + j * sj] (+)= a_i . b_j over nv vectors: m <= 4 rows a_i (stride
   lda) by n <= 4 rows b_j (stride ldb), 16 independent accumulators */
INLINE void gram_tile_(float *R out, ptrdiff_t ldo, ptrdiff_t sj, const float *R a,
                       ptrdiff_t lda, const float *R b, ptrdiff_t ldb, int nv, const int m,
                       const int n, int acc) {
    vf s[4][4];
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) s[i][j] = (vf){0};
    for (int v = 0; v < nv; ++v) {
        vf av[4], bv[4];
        for (int i = 0; i < m; ++i) av[i] = V(a + i * lda + v * LANES);
        for (int j = 0; j < n; ++j) bv[j] = V(b + j * ldb + v * LANES);
        for (int i = 0; i < m; ++i)
            for (int j = 0; j < n; ++j) s[i][j] += av[i] * bv[j];
    }
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
            float *o = out + i * ldo + j * sj;
            *o = (acc ? *o : 0.0f) + hsum_(s[i][j]);
        }
}

/* out[i * ldo + j * sj] (+)= a_i . b_j for M rows a_i and Nb rows b_j of nv vectors: the
   weight gradients, dz x^T over all columns */
static inline void gram_(float *R out, ptrdiff_t ldo, ptrdiff_t sj, const float *R a, ptrdiff_t lda,
                  int M, const float *R b, ptrdiff_t ldb, int Nb, int nv, int acc) {
    for (int i0 = 0; i0 < M; i0 += 4)
        for (int j0 = 0; j0 < Nb; j0 += 4) {
            const int m = M - i0 < 4 ? M - i0 : 4, n = Nb - j0 < 4 ? Nb - j0 : 4;
            float *o = out + i0 * ldo + j0 * sj;
            const float *ai = a + i0 * lda, *bj = b + j0 * ldb;
            if (m == 4 && n == 4) gram_tile_(o, ldo, sj, ai, lda, bj, ldb, nv, 4, 4, acc);
            else gram_tile_(o, ldo, sj, ai, lda, bj, ldb, nv, m, n, acc);
        }
}

/* Row sums of M rows of nv vectors */
static inline void row_sums_(float *R out, const float *R x, ptrdiff_t ldx, int M, int nv) {
    for (int i = 0; i < M; ++i) {
        vf s = {0};
        for (int v = 0; v < nv; ++v) s += V(x + i * ldx + v * LANES);
        out[i] = hsum_(s);
    }
}

/* Strides of the caller's (B, T, F) arrays, in elements */
typedef struct {
    ptrdiff_t b, t, f;
} strides3;

/* [W_ih W_hh] (G, I + H) without its first k0 columns, into w (G, Kp) (Kp >= I + H - k0) */
static inline void pack_weights_(float *R w, int Kp, const float *R w_ih, const float *R w_hh, int G,
                          int I, int H, int k0) {
    for (int g = 0; g < G; ++g)
        for (int k = k0; k < I + H; ++k)
            w[(size_t)g * Kp + k - k0] = k < I ? w_ih[(size_t)g * I + k] : w_hh[(size_t)g * H + k - I];
}

/* Rows 0..n-1 of a column block (rows at stride ld) to element (b, t, k) of the caller's dx */
INLINE void store_rows_(float *R dx, strides3 dxs, const float *R rows, ptrdiff_t ld, int n,
                        int t, int B, int nv) {
    for (int k = 0; k < n; ++k)
        for (int v = 0; v < nv; ++v)
            scatter_(dx + (size_t)v * LANES * dxs.b + t * dxs.t + k * dxs.f, dxs.b, B - v * LANES,
                     V(rows + (size_t)k * ld + v * LANES));
}

/* One step back through [W_ih W_hh]: rows k0.. of [dx_t; dh_{t-1}] = w^T dz_t (w from
   pack_weights_, dz_t's G rows at stride ldz) into out (Kp rows); dh_{t-1} into dh (H
   rows), dx_t to the caller's dx unless NULL */
static inline void step_back_(float *R out, const float *R w, int Kp, int k0, const float *R dz_t,
                       ptrdiff_t ldz, int G, int I, int H, int B, int nv, float *R dh,
                       float *R dx, strides3 dxs, int t) {
    const size_t step = (size_t)nv * LANES;
    product_(out, step, w, Kp, NULL, dz_t, ldz, G, Kp, nv, 0);
    memcpy(dh, out + (size_t)(I - k0) * step, sizeof(float) * H * step);
    if (dx) store_rows_(dx, dxs, out, step, I, t, B, nv);
}

/* The weight gradients over all nt vectors of steps: dw_ih = dz x^T, dw_hh = dz h_prev^T,
   from G rows of dz at stride ldz and xh ([x_t; h_{t-1}] at column block t, rows at ldx) */
static inline void weight_grads_(float *R dw_ih, float *R dw_hh, const float *R dz, ptrdiff_t ldz,
                          int G, const float *R xh, ptrdiff_t ldx, int I, int H, int nt) {
    gram_(dw_ih, I, 1, dz, ldz, G, xh, ldx, I, nt, 0);
    gram_(dw_hh, H, 1, dz, ldz, G, xh + (size_t)I * ldx, ldx, H, nt, 0);
}

/* Copies x_t (B, I) into rows 0..I-1 of a column block of xh (rows at stride ldx) */
INLINE void load_x_(float *R xt, ptrdiff_t ldx, const float *R x, strides3 xs, int t, int I,
                    int B, int nv) {
    for (int k = 0; k < I; ++k)
        for (int v = 0; v < nv; ++v)
            V(xt + (size_t)k * ldx + v * LANES) =
                gather_(x + (size_t)v * LANES * xs.b + t * xs.t + k * xs.f, xs.b, B - v * LANES);
}

/* State (B, H) <-> H rows of nv vectors at stride ld; NULL in: zeros */
INLINE void state_in_(float *R rows, ptrdiff_t ld, const float *R s, int H, int B, int nv) {
    for (int j = 0; j < H; ++j)
        for (int v = 0; v < nv; ++v)
            V(rows + (size_t)j * ld + v * LANES) =
                s ? gather_(s + (size_t)v * LANES * H + j, H, B - v * LANES) : (vf){0};
}
INLINE void state_out_(float *R s, const float *R rows, ptrdiff_t ld, int H, int B, int nv) {
    for (int j = 0; j < H; ++j)
        for (int v = 0; v < nv; ++v)
            scatter_(s + (size_t)v * LANES * H + j, H, B - v * LANES, V(rows + (size_t)j * ld + v * LANES));
}

/* Columns t B .. t B + B - 1 of a feature-major row, from or to element (b, t, c) of the
   caller's strided (B, T, C) array */
INLINE void gather_step_(float *R row, const float *R src, strides3 s, int t, int c, int B) {
    for (int b0 = 0; b0 < B; b0 += LANES) {
        const float *p = src + (size_t)b0 * s.b + t * s.t + c * s.f;
        if (B - b0 >= LANES) V(row + b0) = gather_(p, s.b, LANES);
        else
            for (int l = 0; l < B - b0; ++l) row[b0 + l] = p[l * s.b];
    }
}
INLINE void scatter_step_(float *R dst, strides3 s, const float *R row, int t, int c, int B) {
    for (int b0 = 0; b0 < B; b0 += LANES)
        scatter_(dst + (size_t)b0 * s.b + t * s.t + c * s.f, s.b, B - b0, V(row + b0));
}

/* The strides of an int64_t[3] field */
INLINE strides3 strides_(const int64_t *s) { return (strides3){s[0], s[1], s[2]}; }

/* A size the kernels index with int: positive and small enough that products of a few of
   them still fit their size_t arithmetic */
#define SIZE_OK_(n) ((n) >= 1 && (n) <= (1 << 24))

int lstm_forward_entry_(const seqcast_recurrent_forward_args *a);
int lstm_backward_entry_(const seqcast_recurrent_backward_args *a);

#endif
