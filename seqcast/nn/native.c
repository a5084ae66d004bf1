/* Recurrent layers (LSTM, peephole LSTM, Elman RNN, GRU) and WaveNet's residual stack on
   the CPU, for small models.

   The chapter's cells are tiny (20 units, batch 32): per time step, a library kernel pays
   call overhead comparable to the arithmetic, and the peephole cell has no library kernel
   at all. Here one C call runs a whole layer over all T steps, forward or backward, weight
   gradients included.

   The batch runs along the vector lanes. Everything the kernels keep is feature-major:
   row r of a step holds feature r of every batch row, padded from B to Bp, a multiple of
   LANES. So each unit's gates are computed on whole vectors of batch rows, whatever the
   number of units, and each step's products are small matrix products whose weights are
   broadcast scalars:
     forward   z_t  (4H x Bp) = b + [W_ih W_hh] [x_t; h_{t-1}]     (one product, K = I + H)
     backward  [dx_t; dh_{t-1}] (K x Bp) = [W_ih W_hh]^T dz_t
   The weight gradients are one product over all steps, dz (4H x T Bp) [x; h_prev]^T
   (T Bp x K), both kept in that layout.

   Inputs and outputs in the caller's layout, such as x (B, T, I), are read and written
   through element strides. All arrays are float32; gates in torch.nn's order i, f, g, o.
   Lanes past B are zero in inputs, hold finite values in what the forward pass keeps, and
   zero in every gradient, so they never reach a result.

   Every exported function returns 0, or 1 when it could not allocate its scratch memory. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int seqcast_lanes(void) { return LANES; }

static float *alloc_(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, sizeof(float) * (n ? n : 1))) return NULL;
    memset(p, 0, sizeof(float) * n);
    return (float *)p;
}

#if defined(__AVX512F__)
#include <immintrin.h>
INLINE vf clamp_(vf x, float lo, float hi) {
    return _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(lo)), _mm512_set1_ps(hi));
}
/* 1 / x: the 14-bit hardware estimate and one Newton step, to about 1 ulp; faster than a
   division */
INLINE vf recip_(vf x) {
    const vf r = _mm512_rcp14_ps(x);
    return r * (2.0f - x * r);
}
#elif defined(__AVX__)
#include <immintrin.h>
INLINE vf clamp_(vf x, float lo, float hi) {
    return _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(lo)), _mm256_set1_ps(hi));
}
/* 1 / x: the 12-bit hardware estimate and one Newton step, to about 1 ulp */
INLINE vf recip_(vf x) {
    const vf r = _mm256_rcp_ps(x);
    return r * (2.0f - x * r);
}
#else
INLINE vf clamp_(vf x, float lo, float hi) {
    vi below = x < lo, above = x > hi;
    vf l = x * 0.0f + lo, h = x * 0.0f + hi;
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

INLINE vf relu_(vf x) { return (vf)((vi)x & (vi)(x > 0.0f)); }

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
static void product_(float *R out, ptrdiff_t ldo, const float *R w, ptrdiff_t ldw,
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
static void gram_(float *R out, ptrdiff_t ldo, ptrdiff_t sj, const float *R a, ptrdiff_t lda,
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
static void row_sums_(float *R out, const float *R x, ptrdiff_t ldx, int M, int nv) {
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
static void pack_weights_(float *R w, int Kp, const float *R w_ih, const float *R w_hh, int G,
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
static void step_back_(float *R out, const float *R w, int Kp, int k0, const float *R dz_t,
                       ptrdiff_t ldz, int G, int I, int H, int B, int nv, float *R dh,
                       float *R dx, strides3 dxs, int t) {
    const size_t step = (size_t)nv * LANES;
    product_(out, step, w, Kp, NULL, dz_t, ldz, G, Kp, nv, 0);
    memcpy(dh, out + (size_t)(I - k0) * step, sizeof(float) * H * step);
    if (dx) store_rows_(dx, dxs, out, step, I, t, B, nv);
}

/* The weight gradients over all nt vectors of steps: dw_ih = dz x^T, dw_hh = dz h_prev^T,
   from G rows of dz at stride ldz and xh ([x_t; h_{t-1}] at column block t, rows at ldx) */
static void weight_grads_(float *R dw_ih, float *R dw_hh, const float *R dz, ptrdiff_t ldz,
                          int G, const float *R xh, ptrdiff_t ldx, int I, int H, int nt) {
    gram_(dw_ih, I, 1, dz, ldz, G, xh, ldx, I, nt, 0);
    gram_(dw_hh, H, 1, dz, ldz, G, xh + (size_t)I * ldx, ldx, H, nt, 0);
}

/* LSTM (optionally with peepholes) over T steps of x (B, T, I).
     w_ih (4H, I), w_hh (4H, H), b_ih (4H), b_hh (4H) or NULL, wc (3, H) or NULL,
     h0, c0 (B, H), or NULL for zeros
   Writes the final state hT, cT (B, H). When training, keeps, feature-major (Bp = B
   rounded up to LANES):
     xh  (I + H, T + 1, Bp)  [x_t; h_{t-1}] at column block t, so the outputs h_t are its
                             rows I.. at blocks 1..T,
     act (T, 4H, Bp)         the gate activations i, f, g, o,
     cs  (T, H, Bp)          the cell states c_t,
   and hs is NULL. Otherwise xh, act and cs are NULL and the outputs go to hs (H, T, Bp). */
static int lstm_forward_(int T, int B, int I, int H, const float *R x, strides3 xs,
                         const float *R w_ih, const float *R w_hh, const float *R b_ih,
                         const float *R b_hh, const float *R wc, const float *R h0,
                         const float *R c0, float *R hs, float *R hT, float *R cT, float *R xh,
                         float *R act, float *R cs) {
    const int K = I + H, G = 4 * H, Bp = (B + LANES - 1) / LANES * LANES, nv = Bp / LANES;
    const int training = xh != NULL;
    const size_t step = (size_t)Bp;
    /* without training, two column blocks of xh and cs (ping-pong) and one of act */
    float *buf = alloc_((size_t)K * G + G + (size_t)H * step +
                        (training ? 0 : (2 * (size_t)K + G + 2 * (size_t)H) * step));
    if (!buf) return 1;
    float *wt = buf, *bias = wt + (size_t)K * G, *c_init = bias + G;
    float *scratch = c_init + (size_t)H * step;
    for (int g = 0; g < G; ++g) bias[g] = b_ih[g] + (b_hh ? b_hh[g] : 0.0f);
    const ptrdiff_t ldx = training ? (ptrdiff_t)(T + 1) * Bp : 2 * Bp;
    if (!training) {
        xh = scratch;
        act = xh + 2 * (size_t)K * step;
        cs = act + (size_t)G * step;
    }
    /* [W_ih W_hh]^T: wt[k][g] */
    for (int g = 0; g < G; ++g) {
        for (int k = 0; k < I; ++k) wt[(size_t)k * G + g] = w_ih[(size_t)g * I + k];
        for (int k = 0; k < H; ++k) wt[(size_t)(I + k) * G + g] = w_hh[(size_t)g * H + k];
    }
    /* h_{-1}, c_{-1}: transposed into the lanes; lanes past B stay zero */
    for (int j = 0; j < H; ++j)
        for (int v = 0; v < nv; ++v) {
            const int n = B - v * LANES;
            V(xh + (size_t)(I + j) * ldx + v * LANES) =
                h0 ? gather_(h0 + (size_t)v * LANES * H + j, H, n) : (vf){0};
            if (c0) V(c_init + (size_t)j * step + v * LANES) = gather_(c0 + (size_t)v * LANES * H + j, H, n);
        }
    for (int t = 0; t < T; ++t) {
        const int s = training ? t : t & 1, s1 = training ? t + 1 : (t + 1) & 1;
        float *xt = xh + (size_t)s * step, *hn = xh + (size_t)I * ldx + (size_t)s1 * step;
        float *a = training ? act + (size_t)t * G * step : act;
        const float *cp = t == 0 ? c_init : cs + (size_t)(training ? t - 1 : (t - 1) & 1) * H * step;
        float *c = cs + (size_t)s * H * step;
        for (int k = 0; k < I; ++k)
            for (int v = 0; v < nv; ++v)
                V(xt + (size_t)k * ldx + v * LANES) =
                    gather_(x + (size_t)v * LANES * xs.b + t * xs.t + k * xs.f, xs.b, B - v * LANES);
        product_(a, Bp, wt, G, bias, xt, ldx, K, G, nv, 0);
        /* The gates first, as long streams of independent vectors (a loop over units that
           also carried each cell update would be bound by its chains of dependent
           operations): i, f (with c_{t-1} through the peepholes), g, and o, unless o sees
           c_t through its peephole. */
        const size_t hv = (size_t)H * step;
        if (wc)
            for (int j = 0; j < H; ++j)
                for (int v = 0; v < nv; ++v) {
                    const size_t o = (size_t)j * step + v * LANES;
                    V(a + o) += wc[j] * V(cp + o);
                    V(a + hv + o) += wc[H + j] * V(cp + o);
                }
        for (size_t o = 0; o < 2 * hv; o += LANES) V(a + o) = sigmoid_(V(a + o));
        for (size_t o = 2 * hv; o < 3 * hv; o += LANES) V(a + o) = tanh_(V(a + o));
        if (!wc)
            for (size_t o = 3 * hv; o < 4 * hv; o += LANES) V(a + o) = sigmoid_(V(a + o));
        for (int j = 0; j < H; ++j) {
            const float wo = wc ? wc[2 * H + j] : 0.0f;
            for (int v = 0; v < nv; ++v) {
                const size_t o = (size_t)j * step + v * LANES;
                const vf cn = V(a + hv + o) * V(cp + o) + V(a + o) * V(a + 2 * hv + o);
                const vf og = wc ? sigmoid_(V(a + 3 * hv + o) + wo * cn) : V(a + 3 * hv + o);
                const vf tcn = tanh_(cn), h = og * tcn;
                if (wc) V(a + 3 * hv + o) = og;
                V(c + o) = cn;
                V(hn + (size_t)j * ldx + v * LANES) = h;
                if (!training) V(hs + (size_t)j * T * step + (size_t)t * step + v * LANES) = h;
                if (t == T - 1) {
                    scatter_(hT + (size_t)v * LANES * H + j, H, B - v * LANES, h);
                    scatter_(cT + (size_t)v * LANES * H + j, H, B - v * LANES, cn);
                }
            }
        }
    }
    free(buf);
    return 0;
}

/* Backpropagation through time of lstm_forward_. dy (B, T, H) is the gradient of the
   outputs, dhT, dcT (B, H) that of the final state (each NULL for zeros); act, cs what the
   forward pass kept (tanh(c_t) is recomputed: cheaper than keeping it in memory); c0 as
   given to the forward pass; xh also. Writes
     dw_ih (4H, I), dw_hh (4H, H), db (4H)  the weight and bias gradients,
     dwc (3, H)      the peephole gradient, when wc and dwc are given,
     dx (B, T, I)    the input gradient, unless dx is NULL,
     dh0, dc0 (B, H), unless NULL. */
static int lstm_backward_(int T, int B, int I, int H, const float *R dy, strides3 dys,
                          const float *R dhT, const float *R dcT, const float *R w_ih,
                          const float *R w_hh, const float *R wc, const float *R xh,
                          const float *R act, const float *R cs, const float *R c0,
                          float *R dw_ih, float *R dw_hh, float *R db, float *R dwc, float *R dx,
                          strides3 dxs, float *R dh0, float *R dc0) {
    const int K = I + H, G = 4 * H, Bp = (B + LANES - 1) / LANES * LANES, nv = Bp / LANES;
    const size_t step = (size_t)Bp;
    const ptrdiff_t ldz = (ptrdiff_t)T * Bp;
    /* rows of [dx_t; dh_{t-1}] computed: from k0 (0 with dx, I without), padded to 8 */
    const int k0 = dx ? 0 : I, Kp = (K - k0 + 7) / 8 * 8;
    float *buf = alloc_((size_t)G * Kp + (size_t)Kp * step + 3 * (size_t)H * step +
                        (size_t)(G + 3 * H) * LANES + (size_t)G * ldz);
    if (!buf) return 1;
    float *w = buf, *out = w + (size_t)G * Kp, *dc = out + (size_t)Kp * step;
    float *c_init = dc + (size_t)H * step, *dh = c_init + (size_t)H * step;
    float *db_acc = dh + (size_t)H * step, *dwc_acc = db_acc + (size_t)G * LANES;
    float *dz = dwc_acc + (size_t)3 * H * LANES; /* (4H, T, Bp) */
    /* w[g][k - k0] = [W_ih W_hh][g][k], zero in the padding columns */
    pack_weights_(w, Kp, w_ih, w_hh, G, I, H, k0);
    for (int j = 0; j < H; ++j)
        for (int v = 0; v < nv; ++v) {
            const int n = B - v * LANES;
            const size_t o = (size_t)j * step + v * LANES;
            if (dhT) V(dh + o) = gather_(dhT + (size_t)v * LANES * H + j, H, n);
            if (dcT) V(dc + o) = gather_(dcT + (size_t)v * LANES * H + j, H, n);
            if (c0) V(c_init + o) = gather_(c0 + (size_t)v * LANES * H + j, H, n);
        }
    for (int t = T - 1; t >= 0; --t) {
        const float *a = act + (size_t)t * G * step, *c = cs + (size_t)t * H * step;
        const float *cp = t > 0 ? cs + (size_t)(t - 1) * H * step : c_init;
        float *d = dz + (size_t)t * step;
        for (int j = 0; j < H; ++j) {
            const float wi = wc ? wc[j] : 0.0f, wf = wc ? wc[H + j] : 0.0f;
            const float wo = wc ? wc[2 * H + j] : 0.0f;
            vf sdi = {0}, sdf = {0}, sdo = {0};
            for (int v = 0; v < nv; ++v) {
                const size_t o = (size_t)j * step + v * LANES;
                const vf i = V(a + o), f = V(a + (size_t)H * step + o);
                const vf g = V(a + 2 * (size_t)H * step + o), og = V(a + 3 * (size_t)H * step + o);
                const vf tcj = tanh_(V(c + o)), cpj = V(cp + o);
                const vf dhj = dy ? V(dh + o) + gather_(dy + (size_t)v * LANES * dys.b + t * dys.t +
                                                            j * dys.f, dys.b, B - v * LANES)
                                  : V(dh + o);
                const vf dzo = dhj * tcj * og * (1.0f - og);
                const vf dct = V(dc + o) + dhj * og * (1.0f - tcj * tcj) + dzo * wo;
                const vf dzi = dct * g * i * (1.0f - i), dzf = dct * cpj * f * (1.0f - f);
                const vf dzg = dct * i * (1.0f - g * g);
                V(d + (size_t)j * ldz + v * LANES) = dzi;
                V(d + (size_t)(H + j) * ldz + v * LANES) = dzf;
                V(d + (size_t)(2 * H + j) * ldz + v * LANES) = dzg;
                V(d + (size_t)(3 * H + j) * ldz + v * LANES) = dzo;
                V(dc + o) = dct * f + dzi * wi + dzf * wf;
                V(db_acc + (size_t)j * LANES) += dzi;
                V(db_acc + (size_t)(H + j) * LANES) += dzf;
                V(db_acc + (size_t)(2 * H + j) * LANES) += dzg;
                V(db_acc + (size_t)(3 * H + j) * LANES) += dzo;
                sdi += dzi * cpj;
                sdf += dzf * cpj;
                sdo += dzo * V(c + o);
            }
            if (wc) {
                V(dwc_acc + (size_t)j * LANES) += sdi;
                V(dwc_acc + (size_t)(H + j) * LANES) += sdf;
                V(dwc_acc + (size_t)(2 * H + j) * LANES) += sdo;
            }
        }
        /* [dx_t; dh_{t-1}] rows k0 .. K - 1 = w^T dz_t */
        step_back_(out, w, Kp, k0, d, ldz, G, I, H, B, nv, dh, dx, dxs, t);
    }
    for (int j = 0; j < H; ++j)
        for (int v = 0; v < nv; ++v) {
            const int n = B - v * LANES;
            const size_t o = (size_t)j * step + v * LANES;
            if (dh0) scatter_(dh0 + (size_t)v * LANES * H + j, H, n, V(dh + o));
            if (dc0) scatter_(dc0 + (size_t)v * LANES * H + j, H, n, V(dc + o));
        }
    const int nt = T * Bp / LANES;
    const ptrdiff_t ldx = (ptrdiff_t)(T + 1) * Bp;
    weight_grads_(dw_ih, dw_hh, dz, ldz, G, xh, ldx, I, H, nt);
    for (int g = 0; g < G; ++g) db[g] = hsum_(V(db_acc + (size_t)g * LANES));
    if (wc && dwc)
        for (int q = 0; q < 3 * H; ++q) {
            float s = 0.0f;
            for (int l = 0; l < LANES; ++l) s += dwc_acc[(size_t)q * LANES + l];
            dwc[q] = s;
        }
    free(buf);
    return 0;
}

int seqcast_lstm_forward(int T, int B, int I, int H, const float *R x, ptrdiff_t xs_b,
                         ptrdiff_t xs_t, ptrdiff_t xs_f, const float *R w_ih,
                         const float *R w_hh, const float *R b_ih, const float *R b_hh,
                         const float *R wc, const float *R h0, const float *R c0, float *R hs,
                         float *R hT, float *R cT, float *R xh, float *R act, float *R cs) {
    const strides3 xs = {xs_b, xs_t, xs_f};
    return lstm_forward_(T, B, I, H, x, xs, w_ih, w_hh, b_ih, b_hh, wc, h0, c0, hs, hT, cT, xh,
                         act, cs);
}

int seqcast_lstm_backward(int T, int B, int I, int H, const float *R dy, ptrdiff_t dys_b,
                          ptrdiff_t dys_t, ptrdiff_t dys_f, const float *R dhT,
                          const float *R dcT, const float *R w_ih, const float *R w_hh,
                          const float *R wc, const float *R xh, const float *R act,
                          const float *R cs, const float *R c0, float *R dw_ih, float *R dw_hh,
                          float *R db, float *R dwc, float *R dx, ptrdiff_t dxs_b,
                          ptrdiff_t dxs_t, ptrdiff_t dxs_f, float *R dh0, float *R dc0) {
    const strides3 dys = {dys_b, dys_t, dys_f}, dxs = {dxs_b, dxs_t, dxs_f};
    return lstm_backward_(T, B, I, H, dy, dys, dhT, dcT, w_ih, w_hh, wc, xh, act, cs, c0, dw_ih,
                          dw_hh, db, dwc, dx, dxs, dh0, dc0);
}

/* ---- WaveNet's gated residual stack ------------------------------------------------------

   L layers (van den Oord et al. 2016, sections 2.3-2.4), each: a causal convolution of Kt
   taps with dilation d to 2R channels, the gated unit a = tanh(z_f) sigmoid(z_g) (R), and a
   1x1 convolution split into the residual (R, added to the layer's input) and the skip (S,
   summed over the layers with all skip biases). The skips' sum is the stack's output.

   Activations are feature-major: row c of a (C, N) array holds channel c at every column
   n = t B + b, N = T B rounded up to whole vectors (the columns past T B are padding whose
   values never reach a real column). The batch is not padded: vectors run over batch rows
   and steps alike, so one series (B = 1) fills them as well as many. A shift of s steps is
   a shift of s B columns, so each tap of a dilated convolution is one product on a shifted
   view; the layers' inputs keep P zero columns in front (P >= (Kt - 1) d B for every d),
   which is the causal zero padding. */

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

typedef struct {
    int L, Rc, S, Kt, T, B, Bp, N, P;
    const int *dil;
    const float *const *w_conv, *const *b_conv, *const *w_out, *const *b_out;
} wavenet_;

/* Forward. h0 (B, T, R) through strides xs. Writes the skip sum (S, N). When training,
   keeps hs (L + 1, R, P + N), every layer's input (and the last one's output), and gates
   (L, 2R, N), tanh(z_f) and sigmoid(z_g); otherwise hs holds two layers (2, R, P + N) and
   gates one (1, 2R, N). */
static int wavenet_forward_(const wavenet_ *m, const float *R h0, strides3 xs, float *R hs,
                            float *R gates, float *R skips, int training) {
    const int L = m->L, R_ = m->Rc, S = m->S, Kt = m->Kt, N = m->N, P = m->P, Bp = m->Bp;
    const int nv = N / LANES, ld = P + N;
    float *buf = alloc_((size_t)Kt * R_ * 2 * R_ + (size_t)R_ * (R_ + S) + (size_t)R_ * N);
    if (!buf) return 1;
    float *wc = buf, *wo = wc + (size_t)Kt * R_ * 2 * R_, *a = wo + (size_t)R_ * (R_ + S);
    for (int s = 0; s < S; ++s) {
        float bias = 0.0f;
        for (int l = 0; l < L; ++l) bias += m->b_out[l][R_ + s];
        for (int v = 0; v < nv; ++v) V(skips + (size_t)s * N + v * LANES) = (vf){0} + bias;
    }
    for (int c = 0; c < R_; ++c) {
        float *row = hs + (size_t)c * ld;
        memset(row, 0, sizeof(float) * P);
        memset(hs + ((size_t)R_ + c) * ld, 0, sizeof(float) * P);
        for (int t = 0; t < m->T; ++t) gather_step_(row + P + (size_t)t * Bp, h0, xs, t, c, m->B);
        memset(row + P + (size_t)m->T * Bp, 0, sizeof(float) * (N - (size_t)m->T * Bp));
    }
    for (int l = 0; l < L; ++l) {
        const int d = m->dil[l];
        const float *wl = m->w_conv[l], *ol = m->w_out[l];
        float *hin = hs + (size_t)(training ? l : l & 1) * R_ * ld;
        float *hout = hs + (size_t)(training ? l + 1 : (l + 1) & 1) * R_ * ld;
        float *z = gates + (size_t)(training ? l : 0) * 2 * R_ * N;
        if (training)
            for (int c = 0; c < R_; ++c) memset(hout + (size_t)c * ld, 0, sizeof(float) * P);
        /* taps, transposed: wc[k][c][o] = W[o][c][k] (torch's (C_out, C_in, K) layout) */
        for (int o = 0; o < 2 * R_; ++o)
            for (int c = 0; c < R_; ++c)
                for (int k = 0; k < Kt; ++k)
                    wc[((size_t)k * R_ + c) * 2 * R_ + o] = wl[((size_t)o * R_ + c) * Kt + k];
        for (int c = 0; c < R_; ++c)
            for (int o = 0; o < R_ + S; ++o) wo[(size_t)c * (R_ + S) + o] = ol[(size_t)o * R_ + c];
        for (int k = 0; k < Kt; ++k) /* tap k looks (Kt - 1 - k) d steps back */
            product_(z, N, wc + (size_t)k * R_ * 2 * R_, 2 * R_, k == 0 ? m->b_conv[l] : NULL,
                     hin + P - (ptrdiff_t)(Kt - 1 - k) * d * Bp, ld, R_, 2 * R_, nv, k > 0);
        for (size_t o = 0; o < (size_t)R_ * N; o += LANES) {
            const vf tf = tanh_(V(z + o)), sg = sigmoid_(V(z + (size_t)R_ * N + o));
            V(z + o) = tf;
            V(z + (size_t)R_ * N + o) = sg;
            V(a + o) = tf * sg;
        }
        for (int c = 0; c < R_; ++c)
            memcpy(hout + (size_t)c * ld + P, hin + (size_t)c * ld + P, sizeof(float) * N);
        product_(hout + P, ld, wo, R_ + S, m->b_out[l], a, N, R_, R_, nv, 1);
        product_(skips, N, wo + R_, R_ + S, NULL, a, N, R_, S, nv, 1);
    }
    free(buf);
    return 0;
}

/* Backward of a training forward. dy (B, T, S) through strides dys is the gradient of the
   skip sum. Writes the gradient of h0 (B, T, R) through strides dxs (unless NULL), and the
   weight and bias gradients: dw_conv[l] (2R, R, Kt), db_conv[l] (2R), dw_out[l] (R + S, R),
   db_out[l] (R + S). */
static int wavenet_backward_(const wavenet_ *m, const float *R dy, strides3 dys,
                             const float *R hs, const float *R gates, float *R dx,
                             strides3 dxs, float *const *dw_conv, float *const *db_conv,
                             float *const *dw_out, float *const *db_out) {
    const int L = m->L, R_ = m->Rc, S = m->S, Kt = m->Kt, N = m->N, P = m->P, Bp = m->Bp;
    const int nv = N / LANES, ld = P + N;
    /* dS (S, N): dy feature-major; dh (R, N) twice (ping-pong); dz (2R, N + P), zero past N;
       da, a (R, N); weights transposed for the products */
    const size_t n_dz = (size_t)2 * R_ * (N + P);
    float *buf = alloc_((size_t)S * N + 2 * (size_t)R_ * N + n_dz + 2 * (size_t)R_ * N +
                        (size_t)Kt * 2 * R_ * R_);
    if (!buf) return 1;
    float *dS = buf, *dh = dS + (size_t)S * N, *dz = dh + 2 * (size_t)R_ * N;
    float *da = dz + n_dz, *a = da + (size_t)R_ * N, *wk = a + (size_t)R_ * N;
    for (int s = 0; s < S; ++s) /* the padding columns stay zero (alloc_) */
        for (int t = 0; t < m->T; ++t) gather_step_(dS + (size_t)s * N + (size_t)t * Bp, dy, dys, t, s, m->B);
    float skip_bias_grad[S > 0 ? S : 1];
    row_sums_(skip_bias_grad, dS, N, S, nv);
    /* dh of the last layer's output: zero (only the skips leave the stack) */
    float *dh_out = dh, *dh_in = dh + (size_t)R_ * N;
    for (int l = L - 1; l >= 0; --l) {
        const int d = m->dil[l];
        const float *wl = m->w_conv[l], *ol = m->w_out[l];
        const float *hin = hs + (size_t)l * R_ * ld, *g = gates + (size_t)l * 2 * R_ * N;
        /* da = W_res^T dh_out + W_skip^T dS: w_out (R + S, R) is already w[k][r] */
        product_(da, N, ol, R_, NULL, dh_out, N, R_, R_, nv, 0);
        product_(da, N, ol + (size_t)R_ * R_, R_, NULL, dS, N, S, R_, nv, 1);
        for (size_t o = 0; o < (size_t)R_ * N; o += LANES) {
            const vf tf = V(g + o), sg = V(g + (size_t)R_ * N + o), dav = V(da + o);
            V(a + o) = tf * sg;
            V(dz + (o / N) * (N + P) + o % N) = dav * sg * (1.0f - tf * tf);
            V(dz + (size_t)(R_ + o / N) * (N + P) + o % N) = dav * tf * sg * (1.0f - sg);
        }
        for (int r = 0; r < 2 * R_; ++r) memset(dz + (size_t)r * (N + P) + N, 0, sizeof(float) * P);
        /* weight and bias gradients of the 1x1: [dh_out; dS] a^T */
        gram_(dw_out[l], R_, 1, dh_out, N, R_, a, N, R_, nv, 0);
        gram_(dw_out[l] + (size_t)R_ * R_, R_, 1, dS, N, S, a, N, R_, nv, 0);
        row_sums_(db_out[l], dh_out, N, R_, nv);
        memcpy(db_out[l] + R_, skip_bias_grad, sizeof(float) * S);
        /* of the convolution: tap k pairs dz with the input shifted by (Kt - 1 - k) d steps */
        for (int k = 0; k < Kt; ++k)
            gram_(dw_conv[l] + k, R_ * Kt, Kt, dz, N + P, 2 * R_,
                  hin + P - (ptrdiff_t)(Kt - 1 - k) * d * Bp, ld, R_, nv, 0);
        row_sums_(db_conv[l], dz, N + P, 2 * R_, nv);
        /* dh_in = dh_out + sum_k W_k^T dz shifted forward by (Kt - 1 - k) d steps */
        for (int o = 0; o < 2 * R_; ++o)
            for (int c = 0; c < R_; ++c)
                for (int k = 0; k < Kt; ++k)
                    wk[((size_t)k * 2 * R_ + o) * R_ + c] = wl[((size_t)o * R_ + c) * Kt + k];
        memcpy(dh_in, dh_out, sizeof(float) * R_ * N);
        for (int k = 0; k < Kt; ++k)
            product_(dh_in, N, wk + (size_t)k * 2 * R_ * R_, R_, NULL,
                     dz + (ptrdiff_t)(Kt - 1 - k) * d * Bp, N + P, 2 * R_, R_, nv, 1);
        float *tmp = dh_out;
        dh_out = dh_in;
        dh_in = tmp;
    }
    if (dx)
        for (int c = 0; c < R_; ++c)
            for (int t = 0; t < m->T; ++t)
                scatter_step_(dx, dxs, dh_out + (size_t)c * N + (size_t)t * Bp, t, c, m->B);
    free(buf);
    return 0;
}

int seqcast_wavenet_forward(int L, int R_, int S, int Kt, const int *dil, int T, int B, int P,
                            const float *const *w_conv, const float *const *b_conv,
                            const float *const *w_out, const float *const *b_out,
                            const float *R h0, ptrdiff_t xs_b, ptrdiff_t xs_t, ptrdiff_t xs_f,
                            float *R hs, float *R gates, float *R skips, int training) {
    const wavenet_ m = {L, R_, S, Kt, T, B, B, (T * B + LANES - 1) / LANES * LANES, P, dil,
                        w_conv, b_conv, w_out, b_out};
    const strides3 xs = {xs_b, xs_t, xs_f};
    return wavenet_forward_(&m, h0, xs, hs, gates, skips, training);
}

int seqcast_wavenet_backward(int L, int R_, int S, int Kt, const int *dil, int T, int B, int P,
                             const float *const *w_conv, const float *const *w_out,
                             const float *R dy, ptrdiff_t dys_b, ptrdiff_t dys_t,
                             ptrdiff_t dys_f, const float *R hs, const float *R gates,
                             float *R dx, ptrdiff_t dxs_b, ptrdiff_t dxs_t, ptrdiff_t dxs_f,
                             float *const *dw_conv, float *const *db_conv,
                             float *const *dw_out, float *const *db_out) {
    const wavenet_ m = {L, R_, S, Kt, T, B, B, (T * B + LANES - 1) / LANES * LANES, P, dil,
                        w_conv, NULL, w_out, NULL};
    const strides3 dys = {dys_b, dys_t, dys_f}, dxs = {dxs_b, dxs_t, dxs_f};
    return wavenet_backward_(&m, dy, dys, hs, gates, dx, dxs, dw_conv, db_conv, dw_out, db_out);
}

/* ---- The Elman RNN and the GRU ---------------------------------------------------------

   Same layouts as the LSTM: when training, xh (I + H, T + 1, Bp) keeps [x_t; h_{t-1}] at
   column block t (so the outputs are its rows I.. at blocks 1..T); otherwise the outputs go
   to hs (H, T, Bp). The weight gradients are computed here too (gram_), so the caller makes
   no product. */

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

/* h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh). b_hh and h0 may be NULL. */
static int rnn_forward_(int T, int B, int I, int H, const float *R x, strides3 xs,
                        const float *R w_ih, const float *R w_hh, const float *R b_ih,
                        const float *R b_hh, const float *R h0, float *R hs, float *R hT,
                        float *R xh) {
    const int K = I + H, Bp = (B + LANES - 1) / LANES * LANES, nv = Bp / LANES;
    const int training = xh != NULL;
    const size_t step = (size_t)Bp;
    float *buf = alloc_((size_t)K * H + H + (training ? 0 : 2 * (size_t)K * step));
    if (!buf) return 1;
    float *wt = buf, *bias = wt + (size_t)K * H;
    const ptrdiff_t ldx = training ? (ptrdiff_t)(T + 1) * Bp : 2 * Bp;
    if (!training) xh = bias + H;
    for (int o = 0; o < H; ++o) {
        for (int k = 0; k < I; ++k) wt[(size_t)k * H + o] = w_ih[(size_t)o * I + k];
        for (int k = 0; k < H; ++k) wt[(size_t)(I + k) * H + o] = w_hh[(size_t)o * H + k];
        bias[o] = b_ih[o] + (b_hh ? b_hh[o] : 0.0f);
    }
    state_in_(xh + (size_t)I * ldx, ldx, h0, H, B, nv);
    for (int t = 0; t < T; ++t) {
        const int s = training ? t : t & 1, s1 = training ? t + 1 : (t + 1) & 1;
        float *xt = xh + (size_t)s * step, *hn = xh + (size_t)I * ldx + (size_t)s1 * step;
        load_x_(xt, ldx, x, xs, t, I, B, nv);
        product_(hn, ldx, wt, H, bias, xt, ldx, K, H, nv, 0);
        for (int j = 0; j < H; ++j)
            for (int v = 0; v < nv; ++v) {
                float *h = hn + (size_t)j * ldx + v * LANES;
                V(h) = tanh_(V(h));
                if (!training) V(hs + (size_t)j * T * step + (size_t)t * step + v * LANES) = V(h);
            }
        if (t == T - 1) state_out_(hT, hn, ldx, H, B, nv);
    }
    free(buf);
    return 0;
}

/* Gradients of a training rnn_forward_: from dy (B, T, H) (NULL: zeros) and dhT (B, H) (NULL:
   zeros), writes dw_ih (H, I), dw_hh (H, H), db (H), and dx (B, T, I) and dh0 (B, H) unless
   NULL. */
static int rnn_backward_(int T, int B, int I, int H, const float *R dy, strides3 dys,
                         const float *R dhT, const float *R w_ih, const float *R w_hh,
                         const float *R xh, float *R dw_ih, float *R dw_hh, float *R db,
                         float *R dx, strides3 dxs, float *R dh0) {
    const int K = I + H, Bp = (B + LANES - 1) / LANES * LANES, nv = Bp / LANES;
    const size_t step = (size_t)Bp;
    const ptrdiff_t ldx = (ptrdiff_t)(T + 1) * Bp, ldz = (ptrdiff_t)T * Bp;
    const int k0 = dx ? 0 : I, Kp = K - k0;
    float *buf = alloc_((size_t)H * Kp + (size_t)Kp * step + (size_t)H * step + (size_t)H * ldz);
    if (!buf) return 1;
    float *w = buf, *out = w + (size_t)H * Kp, *dh = out + (size_t)Kp * step, *dz = dh + (size_t)H * step;
    pack_weights_(w, Kp, w_ih, w_hh, H, I, H, k0);
    state_in_(dh, step, dhT, H, B, nv);
    for (int t = T - 1; t >= 0; --t) {
        const float *h = xh + (size_t)I * ldx + (size_t)(t + 1) * step;
        for (int j = 0; j < H; ++j)
            for (int v = 0; v < nv; ++v) {
                const vf hj = V(h + (size_t)j * ldx + v * LANES);
                vf d = V(dh + (size_t)j * step + v * LANES);
                if (dy) d += gather_(dy + (size_t)v * LANES * dys.b + t * dys.t + j * dys.f, dys.b, B - v * LANES);
                V(dz + (size_t)j * ldz + (size_t)t * step + v * LANES) = d * (1.0f - hj * hj);
            }
        step_back_(out, w, Kp, k0, dz + (size_t)t * step, ldz, H, I, H, B, nv, dh, dx, dxs, t);
    }
    const int nt = T * Bp / LANES;
    weight_grads_(dw_ih, dw_hh, dz, ldz, H, xh, ldx, I, H, nt);
    row_sums_(db, dz, ldz, H, nt);
    if (dh0) state_out_(dh0, dh, step, H, B, nv);
    free(buf);
    return 0;
}

/* The reset-after GRU of torch.nn.GRU, gates r, z, n:
     r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z), n = tanh(gi_n + r gh_n),
     h_t = (1 - z) n + z h_{t-1},  gi = W_ih x_t + b_ih, gh = W_hh h_{t-1} + b_hh.
   When training also keeps act (T, 4H, Bp): r, z, n and gh_n. h0 may be NULL. */
static int gru_forward_(int T, int B, int I, int H, const float *R x, strides3 xs,
                        const float *R w_ih, const float *R w_hh, const float *R b_ih,
                        const float *R b_hh, const float *R h0, float *R hs, float *R hT,
                        float *R xh, float *R act) {
    const int G = 3 * H, Bp = (B + LANES - 1) / LANES * LANES, nv = Bp / LANES;
    const int training = xh != NULL;
    const size_t step = (size_t)Bp;
    float *buf = alloc_((size_t)I * G + (size_t)H * G + 2 * (size_t)G * step +
                        (training ? 0 : 2 * (size_t)(I + H) * step + 4 * (size_t)H * step));
    if (!buf) return 1;
    float *wi = buf, *wh = wi + (size_t)I * G, *gi = wh + (size_t)H * G, *gh = gi + (size_t)G * step;
    const ptrdiff_t ldx = training ? (ptrdiff_t)(T + 1) * Bp : 2 * Bp;
    if (!training) {
        xh = gh + (size_t)G * step;
        act = xh + 2 * (size_t)(I + H) * step;
    }
    for (int g = 0; g < G; ++g) {
        for (int k = 0; k < I; ++k) wi[(size_t)k * G + g] = w_ih[(size_t)g * I + k];
        for (int k = 0; k < H; ++k) wh[(size_t)k * G + g] = w_hh[(size_t)g * H + k];
    }
    state_in_(xh + (size_t)I * ldx, ldx, h0, H, B, nv);
    for (int t = 0; t < T; ++t) {
        const int s = training ? t : t & 1, s1 = training ? t + 1 : (t + 1) & 1;
        float *xt = xh + (size_t)s * step, *hp = xh + (size_t)I * ldx + (size_t)s * step;
        float *hn = xh + (size_t)I * ldx + (size_t)s1 * step;
        float *a = training ? act + (size_t)t * 4 * H * step : act;
        load_x_(xt, ldx, x, xs, t, I, B, nv);
        product_(gi, Bp, wi, G, b_ih, xt, ldx, I, G, nv, 0);
        product_(gh, Bp, wh, G, b_hh, hp, ldx, H, G, nv, 0);
        for (int j = 0; j < H; ++j)
            for (int v = 0; v < nv; ++v) {
                const size_t o = (size_t)j * step + v * LANES, hv = (size_t)H * step;
                const vf r = sigmoid_(V(gi + o) + V(gh + o));
                const vf z = sigmoid_(V(gi + hv + o) + V(gh + hv + o));
                const vf ghn = V(gh + 2 * hv + o), n = tanh_(V(gi + 2 * hv + o) + r * ghn);
                const vf hprev = V(hp + (size_t)j * ldx + v * LANES), h = n + z * (hprev - n);
                V(a + o) = r;
                V(a + hv + o) = z;
                V(a + 2 * hv + o) = n;
                V(a + 3 * hv + o) = ghn;
                V(hn + (size_t)j * ldx + v * LANES) = h;
                if (!training) V(hs + (size_t)j * T * step + (size_t)t * step + v * LANES) = h;
            }
        if (t == T - 1) state_out_(hT, hn, ldx, H, B, nv);
    }
    free(buf);
    return 0;
}

/* Gradients of a training gru_forward_; the same outputs as rnn_backward_, with db_ih and
   db_hh (3H) apart. */
static int gru_backward_(int T, int B, int I, int H, const float *R dy, strides3 dys,
                         const float *R dhT, const float *R w_ih, const float *R w_hh,
                         const float *R xh, const float *R act, float *R dw_ih,
                         float *R dw_hh, float *R db_ih, float *R db_hh, float *R dx,
                         strides3 dxs, float *R dh0) {
    const int G = 3 * H, Bp = (B + LANES - 1) / LANES * LANES, nv = Bp / LANES;
    const size_t step = (size_t)Bp;
    const ptrdiff_t ldx = (ptrdiff_t)(T + 1) * Bp, ldz = (ptrdiff_t)T * Bp;
    float *buf = alloc_((size_t)H * step + (size_t)I * step + 2 * (size_t)G * ldz);
    if (!buf) return 1;
    float *dh = buf, *dxt = dh + (size_t)H * step, *dgi = dxt + (size_t)I * step;
    float *dgh = dgi + (size_t)G * ldz;
    state_in_(dh, step, dhT, H, B, nv);
    for (int t = T - 1; t >= 0; --t) {
        const float *a = act + (size_t)t * 4 * H * step;
        const float *hp = xh + (size_t)I * ldx + (size_t)t * step;
        for (int j = 0; j < H; ++j)
            for (int v = 0; v < nv; ++v) {
                const size_t o = (size_t)j * step + v * LANES, hv = (size_t)H * step;
                const size_t od = (size_t)j * ldz + (size_t)t * step + v * LANES, hz = (size_t)H * ldz;
                const vf r = V(a + o), z = V(a + hv + o), n = V(a + 2 * hv + o);
                const vf ghn = V(a + 3 * hv + o), hprev = V(hp + (size_t)j * ldx + v * LANES);
                vf d = V(dh + o);
                if (dy) d += gather_(dy + (size_t)v * LANES * dys.b + t * dys.t + j * dys.f, dys.b, B - v * LANES);
                const vf dn = d * (1.0f - z) * (1.0f - n * n);
                const vf dr = dn * ghn * r * (1.0f - r), dz = d * (hprev - n) * z * (1.0f - z);
                V(dgi + od) = dr;
                V(dgi + hz + od) = dz;
                V(dgi + 2 * hz + od) = dn;
                V(dgh + od) = dr;
                V(dgh + hz + od) = dz;
                V(dgh + 2 * hz + od) = dn * r;
                V(dh + o) = d * z;
            }
        /* dh_{t-1} = z dh_t + W_hh^T dgh_t; dx_t = W_ih^T dgi_t (w_ih (G, I) is w[k][r]) */
        product_(dh, Bp, w_hh, H, NULL, dgh + (size_t)t * step, ldz, G, H, nv, 1);
        if (dx) {
            product_(dxt, Bp, w_ih, I, NULL, dgi + (size_t)t * step, ldz, G, I, nv, 0);
            store_rows_(dx, dxs, dxt, step, I, t, B, nv);
        }
    }
    const int nt = T * Bp / LANES;
    gram_(dw_ih, I, 1, dgi, ldz, G, xh, ldx, I, nt, 0);
    gram_(dw_hh, H, 1, dgh, ldz, G, xh + (size_t)I * ldx, ldx, H, nt, 0);
    row_sums_(db_ih, dgi, ldz, G, nt);
    row_sums_(db_hh, dgh, ldz, G, nt);
    if (dh0) state_out_(dh0, dh, step, H, B, nv);
    free(buf);
    return 0;
}

/* The chapter's layer-norm SimpleRNN: h_t = tanh(LN(W_ih x_t + b_ih + W_hh h_{t-1})), the
   layer norm over the H units of each batch row, gain gamma, offset beta. When training
   also keeps act (T, H + 1, Bp): the normalized pre-activations and 1/std. */
static int ln_rnn_forward_(int T, int B, int I, int H, const float *R x, strides3 xs,
                           const float *R w_ih, const float *R w_hh, const float *R b_ih,
                           const float *R gamma, const float *R beta, float eps,
                           const float *R h0, float *R hs, float *R hT, float *R xh,
                           float *R act) {
    const int K = I + H, Bp = (B + LANES - 1) / LANES * LANES, nv = Bp / LANES;
    const int training = xh != NULL;
    const size_t step = (size_t)Bp;
    float *buf = alloc_((size_t)K * H + (size_t)(H + 1) * step +
                        (training ? 0 : 2 * (size_t)K * step));
    if (!buf) return 1;
    float *wt = buf, *pre = wt + (size_t)K * H;
    const ptrdiff_t ldx = training ? (ptrdiff_t)(T + 1) * Bp : 2 * Bp;
    if (!training) {
        xh = pre + (size_t)(H + 1) * step;
        act = pre; /* one step's normalized values, written over the pre-activations */
    }
    for (int o = 0; o < H; ++o) {
        for (int k = 0; k < I; ++k) wt[(size_t)k * H + o] = w_ih[(size_t)o * I + k];
        for (int k = 0; k < H; ++k) wt[(size_t)(I + k) * H + o] = w_hh[(size_t)o * H + k];
    }
    state_in_(xh + (size_t)I * ldx, ldx, h0, H, B, nv);
    for (int t = 0; t < T; ++t) {
        const int s = training ? t : t & 1, s1 = training ? t + 1 : (t + 1) & 1;
        float *xt = xh + (size_t)s * step, *hn = xh + (size_t)I * ldx + (size_t)s1 * step;
        float *nrm = training ? act + (size_t)t * (H + 1) * step : act;
        load_x_(xt, ldx, x, xs, t, I, B, nv);
        product_(pre, Bp, wt, H, b_ih, xt, ldx, K, H, nv, 0);
        for (int v = 0; v < nv; ++v) {
            vf mean = {0}, var = {0};
            for (int j = 0; j < H; ++j) mean += V(pre + (size_t)j * step + v * LANES);
            mean = mean * (1.0f / H);
            for (int j = 0; j < H; ++j) {
                const vf c = V(pre + (size_t)j * step + v * LANES) - mean;
                var += c * c;
            }
            const vf rstd = 1.0f / sqrt_(var * (1.0f / H) + eps);
            V(nrm + (size_t)H * step + v * LANES) = rstd;
            for (int j = 0; j < H; ++j) {
                const vf n = (V(pre + (size_t)j * step + v * LANES) - mean) * rstd;
                const vf h = tanh_(gamma[j] * n + beta[j]);
                V(nrm + (size_t)j * step + v * LANES) = n;
                V(hn + (size_t)j * ldx + v * LANES) = h;
                if (!training) V(hs + (size_t)j * T * step + (size_t)t * step + v * LANES) = h;
            }
        }
        if (t == T - 1) state_out_(hT, hn, ldx, H, B, nv);
    }
    free(buf);
    return 0;
}

/* Gradients of a training ln_rnn_forward_: as rnn_backward_, plus dgamma and dbeta (H). */
static int ln_rnn_backward_(int T, int B, int I, int H, const float *R dy, strides3 dys,
                            const float *R dhT, const float *R w_ih, const float *R w_hh,
                            const float *R gamma, const float *R xh, const float *R act,
                            float *R dw_ih, float *R dw_hh, float *R db, float *R dgamma,
                            float *R dbeta, float *R dx, strides3 dxs, float *R dh0) {
    const int K = I + H, Bp = (B + LANES - 1) / LANES * LANES, nv = Bp / LANES;
    const size_t step = (size_t)Bp;
    const ptrdiff_t ldx = (ptrdiff_t)(T + 1) * Bp, ldz = (ptrdiff_t)T * Bp;
    const int k0 = dx ? 0 : I, Kp = K - k0;
    float *buf = alloc_((size_t)H * Kp + (size_t)Kp * step + 2 * (size_t)H * step +
                        (size_t)H * ldz + 2 * (size_t)H * LANES);
    if (!buf) return 1;
    float *w = buf, *out = w + (size_t)H * Kp, *dh = out + (size_t)Kp * step;
    float *dn = dh + (size_t)H * step, *da = dn + (size_t)H * step;
    float *dg_acc = da + (size_t)H * ldz, *db_acc = dg_acc + (size_t)H * LANES;
    pack_weights_(w, Kp, w_ih, w_hh, H, I, H, k0);
    state_in_(dh, step, dhT, H, B, nv);
    for (int t = T - 1; t >= 0; --t) {
        const float *h = xh + (size_t)I * ldx + (size_t)(t + 1) * step;
        const float *nrm = act + (size_t)t * (H + 1) * step;
        for (int v = 0; v < nv; ++v) {
            vf s1 = {0}, s2 = {0}; /* sums over the units of dn and dn * n */
            for (int j = 0; j < H; ++j) {
                const vf hj = V(h + (size_t)j * ldx + v * LANES);
                const vf n = V(nrm + (size_t)j * step + v * LANES);
                vf d = V(dh + (size_t)j * step + v * LANES);
                if (dy) d += gather_(dy + (size_t)v * LANES * dys.b + t * dys.t + j * dys.f, dys.b, B - v * LANES);
                const vf dyn = d * (1.0f - hj * hj); /* the gradient of the layer norm's output */
                V(dg_acc + (size_t)j * LANES) += dyn * n;
                V(db_acc + (size_t)j * LANES) += dyn;
                const vf dnj = dyn * gamma[j];
                V(dn + (size_t)j * step + v * LANES) = dnj;
                s1 += dnj;
                s2 += dnj * n;
            }
            const vf rstd = V(nrm + (size_t)H * step + v * LANES);
            s1 = s1 * (1.0f / H);
            s2 = s2 * (1.0f / H);
            for (int j = 0; j < H; ++j) {
                const vf n = V(nrm + (size_t)j * step + v * LANES);
                V(da + (size_t)j * ldz + (size_t)t * step + v * LANES) =
                    rstd * (V(dn + (size_t)j * step + v * LANES) - s1 - n * s2);
            }
        }
        step_back_(out, w, Kp, k0, da + (size_t)t * step, ldz, H, I, H, B, nv, dh, dx, dxs, t);
    }
    const int nt = T * Bp / LANES;
    weight_grads_(dw_ih, dw_hh, da, ldz, H, xh, ldx, I, H, nt);
    row_sums_(db, da, ldz, H, nt);
    for (int j = 0; j < H; ++j) {
        dgamma[j] = hsum_(V(dg_acc + (size_t)j * LANES));
        dbeta[j] = hsum_(V(db_acc + (size_t)j * LANES));
    }
    if (dh0) state_out_(dh0, dh, step, H, B, nv);
    free(buf);
    return 0;
}

/* cell: 0 the Elman RNN, 1 the GRU, 2 the layer-norm SimpleRNN (b_hh unused; gamma, beta
   and eps its layer norm's) */
int seqcast_rnn_forward(int cell, int T, int B, int I, int H, const float *R x, ptrdiff_t xs_b,
                        ptrdiff_t xs_t, ptrdiff_t xs_f, const float *R w_ih,
                        const float *R w_hh, const float *R b_ih, const float *R b_hh,
                        const float *R gamma, const float *R beta, float eps,
                        const float *R h0, float *R hs, float *R hT, float *R xh, float *R act) {
    const strides3 xs = {xs_b, xs_t, xs_f};
    if (cell == 0) return rnn_forward_(T, B, I, H, x, xs, w_ih, w_hh, b_ih, b_hh, h0, hs, hT, xh);
    if (cell == 2)
        return ln_rnn_forward_(T, B, I, H, x, xs, w_ih, w_hh, b_ih, gamma, beta, eps, h0, hs, hT,
                               xh, act);
    return gru_forward_(T, B, I, H, x, xs, w_ih, w_hh, b_ih, b_hh, h0, hs, hT, xh, act);
}

int seqcast_rnn_backward(int cell, int T, int B, int I, int H, const float *R dy,
                         ptrdiff_t dys_b, ptrdiff_t dys_t, ptrdiff_t dys_f, const float *R dhT,
                         const float *R w_ih, const float *R w_hh, const float *R gamma,
                         const float *R xh, const float *R act, float *R dw_ih, float *R dw_hh,
                         float *R db_ih, float *R db_hh, float *R dgamma, float *R dbeta,
                         float *R dx, ptrdiff_t dxs_b, ptrdiff_t dxs_t, ptrdiff_t dxs_f,
                         float *R dh0) {
    const strides3 dys = {dys_b, dys_t, dys_f}, dxs = {dxs_b, dxs_t, dxs_f};
    if (cell == 2)
        return ln_rnn_backward_(T, B, I, H, dy, dys, dhT, w_ih, w_hh, gamma, xh, act, dw_ih,
                                dw_hh, db_ih, dgamma, dbeta, dx, dxs, dh0);
    if (cell == 0)
        return rnn_backward_(T, B, I, H, dy, dys, dhT, w_ih, w_hh, xh, dw_ih, dw_hh, db_ih, dx,
                             dxs, dh0);
    return gru_backward_(T, B, I, H, dy, dys, dhT, w_ih, w_hh, xh, act, dw_ih, dw_hh, db_ih,
                         db_hh, dx, dxs, dh0);
}


/* ---- A stack of causal convolutions with ReLU (the chapter's simple WaveNet) -------------

   Layer l maps C[l] channels to C[l + 1] with Kt taps and dilation dil[l], then ReLU. The
   same layout as the residual stack: rows of (step, batch row) columns, P zero columns in
   front of every layer's input. hs holds every layer's input and the last one's output at
   row offsets sum(C[:l]) (P + N) when training, two buffers of max(C) rows otherwise. */

typedef struct {
    int L, Kt, T, B, N, P, maxc;
    const int *C, *dil;
    const float *const *w, *const *b;
} convs_;

static size_t convs_offset_(const convs_ *m, int l, int training) {
    if (!training) return (size_t)(l & 1) * m->maxc * (m->P + m->N);
    size_t rows = 0;
    for (int i = 0; i < l; ++i) rows += m->C[i];
    return rows * (m->P + m->N);
}

/* wt[k][c][o] = W[o][c][k] for W (C_out, C_in, Kt), torch's layout */
static void taps_t_(float *R wt, const float *R w, int co, int ci, int Kt) {
    for (int o = 0; o < co; ++o)
        for (int c = 0; c < ci; ++c)
            for (int k = 0; k < Kt; ++k) wt[((size_t)k * ci + c) * co + o] = w[((size_t)o * ci + c) * Kt + k];
}

static int convs_forward_(const convs_ *m, const float *R x, strides3 xs, float *R hs,
                          int training) {
    const int L = m->L, Kt = m->Kt, N = m->N, P = m->P, B = m->B, nv = N / LANES, ld = P + N;
    float *wt = alloc_((size_t)Kt * m->maxc * m->maxc);
    if (!wt) return 1;
    for (int c = 0; c < m->C[0]; ++c) {
        float *row = hs + (size_t)c * ld;
        memset(row, 0, sizeof(float) * P);
        for (int t = 0; t < m->T; ++t) gather_step_(row + P + (size_t)t * B, x, xs, t, c, B);
        memset(row + P + (size_t)m->T * B, 0, sizeof(float) * (N - (size_t)m->T * B));
    }
    for (int l = 0; l < L; ++l) {
        const int ci = m->C[l], co = m->C[l + 1], d = m->dil[l];
        const float *hin = hs + convs_offset_(m, l, training);
        float *hout = hs + convs_offset_(m, l + 1, training);
        taps_t_(wt, m->w[l], co, ci, Kt);
        for (int o = 0; o < co; ++o) memset(hout + (size_t)o * ld, 0, sizeof(float) * P);
        for (int k = 0; k < Kt; ++k) /* tap k looks (Kt - 1 - k) d steps back */
            product_(hout + P, ld, wt + (size_t)k * ci * co, co, k == 0 ? m->b[l] : NULL,
                     hin + P - (ptrdiff_t)(Kt - 1 - k) * d * B, ld, ci, co, nv, k > 0);
        for (int o = 0; o < co; ++o)
            for (int v = 0; v < nv; ++v) {
                float *h = hout + (size_t)o * ld + P + v * LANES;
                const vf z = V(h);
                V(h) = (vf)((vi)z & (vi)(z > 0.0f)); /* ReLU */
            }
    }
    free(wt);
    return 0;
}

/* Backward of a training convs_forward_: dy (B, T, C[L]) the gradient of the last output;
   writes dw[l] (C[l + 1], C[l], Kt), db[l] (C[l + 1]) and dx (B, T, C[0]) unless NULL. */
static int convs_backward_(const convs_ *m, const float *R dy, strides3 dys,
                           const float *R hs, float *R dx, strides3 dxs, float *const *dw,
                           float *const *db) {
    const int L = m->L, Kt = m->Kt, N = m->N, P = m->P, B = m->B, nv = N / LANES, ld = P + N;
    const size_t plane = (size_t)m->maxc * (N + P);
    float *buf = alloc_(2 * plane + (size_t)Kt * m->maxc * m->maxc);
    if (!buf) return 1;
    float *dh = buf, *dn = buf + plane, *wk = buf + 2 * plane;
    for (int c = 0; c < m->C[L]; ++c) /* columns past T B and the tail stay zero */
        for (int t = 0; t < m->T; ++t) gather_step_(dh + (size_t)c * (N + P) + (size_t)t * B, dy, dys, t, c, B);
    for (int l = L - 1; l >= 0; --l) {
        const int ci = m->C[l], co = m->C[l + 1], d = m->dil[l];
        const float *hin = hs + convs_offset_(m, l, 1), *hout = hs + convs_offset_(m, l + 1, 1);
        for (int o = 0; o < co; ++o) /* through the ReLU: zero where the output is */
            for (int v = 0; v < nv; ++v) {
                float *g = dh + (size_t)o * (N + P) + v * LANES;
                const vf h = V(hout + (size_t)o * ld + P + v * LANES);
                V(g) = (vf)((vi)V(g) & (vi)(h > 0.0f));
            }
        for (int k = 0; k < Kt; ++k)
            gram_(dw[l] + k, (ptrdiff_t)ci * Kt, Kt, dh, N + P, co,
                  hin + P - (ptrdiff_t)(Kt - 1 - k) * d * B, ld, ci, nv, 0);
        row_sums_(db[l], dh, N + P, co, nv);
        if (l == 0 && !dx) break;
        /* the input's gradient: sum_k W_k^T dz shifted forward by (Kt - 1 - k) d steps */
        for (int o = 0; o < co; ++o)
            for (int c = 0; c < ci; ++c)
                for (int k = 0; k < Kt; ++k)
                    wk[((size_t)k * co + o) * ci + c] = m->w[l][((size_t)o * ci + c) * Kt + k];
        for (int k = 0; k < Kt; ++k)
            product_(dn, N + P, wk + (size_t)k * co * ci, ci, NULL,
                     dh + (ptrdiff_t)(Kt - 1 - k) * d * B, N + P, co, ci, nv, k > 0);
        for (int c = 0; c < ci; ++c) memset(dn + (size_t)c * (N + P) + N, 0, sizeof(float) * P);
        float *tmp = dh;
        dh = dn;
        dn = tmp;
    }
    if (dx)
        for (int c = 0; c < m->C[0]; ++c)
            for (int t = 0; t < m->T; ++t)
                scatter_step_(dx, dxs, dh + (size_t)c * (N + P) + (size_t)t * B, t, c, B);
    free(buf);
    return 0;
}

int seqcast_convs_forward(int L, const int *C, int Kt, const int *dil, int T, int B, int P,
                          const float *const *w, const float *const *b, const float *R x,
                          ptrdiff_t xs_b, ptrdiff_t xs_t, ptrdiff_t xs_f, float *R hs,
                          int training) {
    int maxc = 0;
    for (int l = 0; l <= L; ++l) maxc = C[l] > maxc ? C[l] : maxc;
    const convs_ m = {L, Kt, T, B, (T * B + LANES - 1) / LANES * LANES, P, maxc, C, dil, w, b};
    const strides3 xs = {xs_b, xs_t, xs_f};
    return convs_forward_(&m, x, xs, hs, training);
}

int seqcast_convs_backward(int L, const int *C, int Kt, const int *dil, int T, int B, int P,
                           const float *const *w, const float *R dy, ptrdiff_t dys_b,
                           ptrdiff_t dys_t, ptrdiff_t dys_f, const float *R hs, float *R dx,
                           ptrdiff_t dxs_b, ptrdiff_t dxs_t, ptrdiff_t dxs_f,
                           float *const *dw, float *const *db) {
    int maxc = 0;
    for (int l = 0; l <= L; ++l) maxc = C[l] > maxc ? C[l] : maxc;
    const convs_ m = {L, Kt, T, B, (T * B + LANES - 1) / LANES * LANES, P, maxc, C, dil, w, NULL};
    const strides3 dys = {dys_b, dys_t, dys_f}, dxs = {dxs_b, dxs_t, dxs_f};
    return convs_backward_(&m, dy, dys, hs, dx, dxs, dw, db);
}

/* ---- WaveNet generation: one sample at a time, from ring buffers -------------------------

   The per-sample steps of a full WaveNet with the dense head (Paine et al. 2016's cached
   queues): each causal convolution keeps its last (Kt - 1) d inputs in a ring buffer (B,
   size, C), the input of step s at slot s % size, as seqcast's ConvQueue does; a step
   reads its taps from there and pushes its input. The output's first value is fed back as
   the next input. Vectors run over output channels (each padded to whole vectors), so one
   stream fills them as well as many; each layer runs for every stream in turn, so its
   weights stay in cache. */

/* out (+)= bias + sum_c in[c] w[c] over n input values, w rows of mp (a multiple of LANES)
   floats at stride mp */
static void gemv_(float *R out, int mp, const float *R w, const float *R in, int n,
                  const float *R bias, int acc) {
    for (int v0 = 0; v0 < mp; v0 += 8 * LANES) {
        const int nv = (mp - v0) / LANES < 8 ? (mp - v0) / LANES : 8;
        vf a[8];
        for (int j = 0; j < nv; ++j)
            a[j] = acc ? V(out + v0 + j * LANES) : bias ? V(bias + v0 + j * LANES) : (vf){0};
        if (acc && bias)
            for (int j = 0; j < nv; ++j) a[j] += V(bias + v0 + j * LANES);
        for (int c = 0; c < n; ++c) {
            const float s = in[c];
            const float *row = w + (size_t)c * mp + v0;
            for (int j = 0; j < nv; ++j) a[j] += s * V(row + j * LANES);
        }
        for (int j = 0; j < nv; ++j) V(out + v0 + j * LANES) = a[j];
    }
}

/* w (rows, cols) row-major -> wt (cols, mp): wt[c][map(r)] = w[r][c], zero elsewhere; map
   puts rows from split on at mp_split + (r - split), so each half starts on a vector */
static void pack_t_(float *R wt, int mp, const float *R w, int rows, int cols, int split,
                    int at) {
    for (int r = 0; r < rows; ++r) {
        const int o = r < split ? r : at + r - split;
        for (int c = 0; c < cols; ++c) wt[(size_t)c * mp + o] = w[(size_t)r * cols + c];
    }
}
static void pack_b_(float *R out, const float *R b, int n, int split, int at) {
    for (int r = 0; r < n; ++r) out[r < split ? r : at + r - split] = b[r];
}

#define PAD_(n) (((n) + LANES - 1) / LANES * LANES)

/* The ring slot of step s, s % size taken non-negative (steps before the history are the
   zero slots the queue starts with) */
static inline size_t slot_(long long s, int size) { return (size_t)(((s % size) + size) % size); }

/* Continue B streams by steps - 1 samples after values[b][0] (the forecast made at the end
   of the history, step t0 = history length). q_in and q[l] are the ring buffers of the
   input convolution (C_in = 1) and of each layer's convolution (B, (Kt - 1) d, R), updated
   in place. post: ReLU, w1 (H1, S) + b1, ReLU, w2 (O, H1) + b2; the value fed back is its
   first output. values (B, steps). */
int seqcast_wavenet_generate(int L, int R_, int S, int Kt, const int *dil, int d_in, int B,
                             int steps, long long t0, const float *R w_in, const float *R b_in,
                             float *R q_in, const float *const *w_conv,
                             const float *const *b_conv, const float *const *w_out,
                             const float *const *b_out, float *const *q, int H1,
                             const float *R w1, const float *R b1, int O, const float *R w2,
                             const float *R b2, float *R values) {
    const int Rp = PAD_(R_), Sp = PAD_(S), Hp = PAD_(H1), Op = PAD_(O);
    const int Gp = 2 * Rp, Mp = Rp + Sp; /* z: f then g; 1x1: residual then skip */
    const size_t n_conv = (size_t)Kt * R_ * Gp, n_out = (size_t)R_ * Mp;
    float *buf = alloc_((size_t)L * (n_conv + n_out + Gp + Mp) + (size_t)Kt * Rp + Rp +
                        (size_t)S * Hp + Hp + (size_t)H1 * Op + Op +
                        (size_t)Kt * Rp + Gp + 3 * (size_t)Mp + Rp + Hp + Op);
    if (!buf) return 1;
    float *wc = buf, *wo = wc + (size_t)L * n_conv, *bc = wo + (size_t)L * n_out;
    float *bo = bc + (size_t)L * Gp, *wi = bo + (size_t)L * Mp, *bi = wi + (size_t)Kt * Rp;
    float *w1t = bi + Rp, *b1p = w1t + (size_t)S * Hp, *w2t = b1p + Hp, *b2p = w2t + (size_t)H1 * Op;
    float *taps = b2p + Op, *z = taps + (size_t)Kt * Rp, *o = z + Gp, *h = o + Mp;
    float *sk = h + Mp, *y1 = sk + Rp, *y = y1 + Hp;
    for (int l = 0; l < L; ++l) {
        for (int k = 0; k < Kt; ++k) /* tap k of W (2R, R, Kt): a (2R, R) row-major slice */
            for (int r = 0; r < 2 * R_; ++r)
                for (int c = 0; c < R_; ++c)
                    wc[l * n_conv + ((size_t)k * R_ + c) * Gp + (r < R_ ? r : Rp + r - R_)] =
                        w_conv[l][((size_t)r * R_ + c) * Kt + k];
        pack_t_(wo + l * n_out, Mp, w_out[l], R_ + S, R_, R_, Rp);
        pack_b_(bc + (size_t)l * Gp, b_conv[l], 2 * R_, R_, Rp);
        pack_b_(bo + (size_t)l * Mp, b_out[l], R_ + S, R_, Rp);
    }
    for (int k = 0; k < Kt; ++k)
        for (int r = 0; r < R_; ++r) wi[(size_t)k * Rp + r] = w_in[(size_t)r * Kt + k];
    pack_b_(bi, b_in, R_, R_, 0);
    pack_t_(w1t, Hp, w1, H1, S, H1, 0);
    pack_b_(b1p, b1, H1, H1, 0);
    pack_t_(w2t, Op, w2, O, H1, O, 0);
    pack_b_(b2p, b2, O, O, 0);
    const int size_in = (Kt - 1) * d_in;
    float *hs = alloc_((size_t)B * (Rp + Sp)), *skips = hs + (size_t)B * Rp;
    if (!hs) {
        free(buf);
        return 1;
    }
    /* step by step, each layer for every stream in turn: its weights stay in cache */
    for (int i = 1; i < steps; ++i) {
        const long long t = t0 + i - 1;
        for (int b = 0; b < B; ++b) {
            /* the input convolution: C_in = 1, taps oldest first, the fed-back value last */
            const float x = values[(size_t)b * steps + i - 1];
            float *qi = q_in + (size_t)b * size_in, *hb = hs + (size_t)b * Rp;
            memcpy(hb, bi, sizeof(float) * Rp);
            for (int k = 0; k < Kt; ++k) {
                const float xk = k == Kt - 1 ? x : qi[slot_(t - (long long)(Kt - 1 - k) * d_in, size_in)];
                for (int v = 0; v < Rp; v += LANES) V(hb + v) += xk * V(wi + (size_t)k * Rp + v);
            }
            if (size_in) qi[slot_(t, size_in)] = x;
        }
        memset(skips, 0, sizeof(float) * B * Sp);
        for (int l = 0; l < L; ++l) {
            const int size = (Kt - 1) * dil[l];
            for (int b = 0; b < B; ++b) {
                float *ql = q[l] + (size_t)b * size * R_, *hb = hs + (size_t)b * Rp;
                for (int k = 0; k < Kt - 1; ++k) /* taps t - (Kt - 1 - k) d, oldest first */
                    memcpy(taps + (size_t)k * Rp, ql + slot_(t - (long long)(Kt - 1 - k) * dil[l], size) * R_,
                           sizeof(float) * R_);
                memcpy(taps + (size_t)(Kt - 1) * Rp, hb, sizeof(float) * R_);
                if (size) memcpy(ql + slot_(t, size) * R_, hb, sizeof(float) * R_);
                for (int k = 0; k < Kt; ++k)
                    gemv_(z, Gp, wc + l * n_conv + (size_t)k * R_ * Gp, taps + (size_t)k * Rp, R_,
                          k == 0 ? bc + (size_t)l * Gp : NULL, k > 0);
                for (int v = 0; v < Rp; v += LANES) V(sk + v) = tanh_(V(z + v)) * sigmoid_(V(z + Rp + v));
                gemv_(o, Mp, wo + l * n_out, sk, R_, bo + (size_t)l * Mp, 0);
                for (int v = 0; v < Rp; v += LANES) V(hb + v) += V(o + v);
                float *sb = skips + (size_t)b * Sp;
                for (int v = 0; v < Sp; v += LANES) V(sb + v) += V(o + Rp + v);
            }
        }
        for (int b = 0; b < B; ++b) {
            float *sb = skips + (size_t)b * Sp;
            for (int v = 0; v < Sp; v += LANES) V(sb + v) = relu_(V(sb + v));
            gemv_(y1, Hp, w1t, sb, S, b1p, 0);
            for (int v = 0; v < Hp; v += LANES) V(y1 + v) = relu_(V(y1 + v));
            gemv_(y, Op, w2t, y1, H1, b2p, 0);
            values[(size_t)b * steps + i] = y[0];
        }
    }
    free(hs);
    free(buf);
    return 0;
}
