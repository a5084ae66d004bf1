/* LSTM sequence kernels (stock and peephole) for small cells on the CPU.

   The chapter's cells are tiny (20 units, batch 32): per time step, a library kernel pays
   call overhead comparable to the arithmetic, and the peephole cell has no library kernel
   at all. Here one C call runs a whole layer over all T steps, forward or backward.

   The batch runs along the vector lanes. Everything the kernels keep is feature-major:
   row r of a step holds feature r of every batch row, padded from B to Bp, a multiple of
   LANES. So each unit's gates are computed on whole vectors of batch rows, whatever the
   number of units, and each step's products are small matrix products whose weights are
   broadcast scalars:
     forward   z_t  (4H x Bp) = b + [W_ih W_hh] [x_t; h_{t-1}]     (one product, K = I + H)
     backward  [dx_t; dh_{t-1}] (K x Bp) = [W_ih W_hh]^T dz_t
   The caller gets the weight gradients from one matrix product over all steps,
   dz (4H x T Bp) [x; h_prev]^T (T Bp x K), both kept here in that layout.

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

/* One tile of out = bias + sum_k w[k] x_k: m (8 or 4) output rows by n (2 or 1) vectors.
   out rows at stride ldo; w[k * ldw + r] is row r's weight for input row k (so the m
   weights of a k are adjacent); input rows x_k at stride ldx. The 16 accumulators are
   independent chains of multiply-adds, enough to keep both FMA units busy. */
INLINE void tile_(float *R out, ptrdiff_t ldo, const float *R w, ptrdiff_t ldw,
                  const float *R bias, const float *R x, ptrdiff_t ldx, int K, const int m,
                  const int n) {
    vf acc[8][2];
    for (int r = 0; r < m; ++r)
        for (int v = 0; v < n; ++v) acc[r][v] = (vf){0} + (bias ? bias[r] : 0.0f);
    for (int k = 0; k < K; ++k, x += ldx, w += ldw) {
        const vf x0 = V(x), x1 = n > 1 ? V(x + LANES) : x0;
        for (int r = 0; r < m; ++r) {
            acc[r][0] += w[r] * x0;
            if (n > 1) acc[r][1] += w[r] * x1;
        }
    }
    for (int r = 0; r < m; ++r)
        for (int v = 0; v < n; ++v) V(out + r * ldo + v * LANES) = acc[r][v];
}

/* out (M rows of nv vectors, stride ldo) = bias + w^T x, with w (K, ldw) holding row r's
   weights in column r and x K rows of nv vectors at stride ldx. M is a multiple of 4. */
static void product_(float *R out, ptrdiff_t ldo, const float *R w, ptrdiff_t ldw,
                     const float *R bias, const float *R x, ptrdiff_t ldx, int K, int M, int nv) {
    for (int r0 = 0; r0 < M; r0 += TILE_ROWS) {
        const float *br = bias ? bias + r0 : NULL;
        for (int v0 = 0; v0 < nv; v0 += 2) {
            float *o = out + r0 * ldo + v0 * LANES;
            const float *xv = x + v0 * LANES;
            if (TILE_ROWS == 8 && M - r0 >= 8) {
                if (nv - v0 >= 2) tile_(o, ldo, w + r0, ldw, br, xv, ldx, K, 8, 2);
                else tile_(o, ldo, w + r0, ldw, br, xv, ldx, K, 8, 1);
            } else {
                if (nv - v0 >= 2) tile_(o, ldo, w + r0, ldw, br, xv, ldx, K, 4, 2);
                else tile_(o, ldo, w + r0, ldw, br, xv, ldx, K, 4, 1);
            }
        }
    }
}

/* Strides of the caller's (B, T, F) arrays, in elements */
typedef struct {
    ptrdiff_t b, t, f;
} strides3;

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
        product_(a, Bp, wt, G, bias, xt, ldx, K, G, nv);
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
   given to the forward pass. Writes
     dz (4H, T, Bp)  the gradient of the gate pre-activations (the caller's weight gradients
                     are dz [x; h_prev]^T),
     db (4H)         the bias gradient,
     dwc (3, H)      the peephole gradient, when wc and dwc are given,
     dx (B, T, I)    the input gradient, unless dx is NULL,
     dh0, dc0 (B, H), unless NULL. */
static int lstm_backward_(int T, int B, int I, int H, const float *R dy, strides3 dys,
                          const float *R dhT, const float *R dcT, const float *R w_ih,
                          const float *R w_hh, const float *R wc, const float *R act,
                          const float *R cs, const float *R c0, float *R dz, float *R db,
                          float *R dwc, float *R dx, strides3 dxs, float *R dh0, float *R dc0) {
    const int K = I + H, G = 4 * H, Bp = (B + LANES - 1) / LANES * LANES, nv = Bp / LANES;
    const size_t step = (size_t)Bp;
    const ptrdiff_t ldx = (ptrdiff_t)(T + 1) * Bp, ldz = (ptrdiff_t)T * Bp;
    /* rows of [dx_t; dh_{t-1}] computed: from k0 (0 with dx, I without), padded to 8 */
    const int k0 = dx ? 0 : I, Kp = (K - k0 + 7) / 8 * 8;
    float *buf = alloc_((size_t)G * Kp + (size_t)Kp * step + 3 * (size_t)H * step +
                        (size_t)(G + 3 * H) * LANES);
    if (!buf) return 1;
    float *w = buf, *out = w + (size_t)G * Kp, *dc = out + (size_t)Kp * step;
    float *c_init = dc + (size_t)H * step, *dh = c_init + (size_t)H * step;
    float *db_acc = dh + (size_t)H * step, *dwc_acc = db_acc + (size_t)G * LANES;
    /* w[g][k - k0] = [W_ih W_hh][g][k], zero in the padding columns */
    for (int g = 0; g < G; ++g)
        for (int k = k0; k < K; ++k)
            w[(size_t)g * Kp + k - k0] = k < I ? w_ih[(size_t)g * I + k] : w_hh[(size_t)g * H + k - I];
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
        product_(out, Bp, w, Kp, NULL, d, ldz, G, Kp, nv);
        memcpy(dh, out + (size_t)(I - k0) * step, sizeof(float) * H * step);
        if (dx)
            for (int k = 0; k < I; ++k)
                for (int v = 0; v < nv; ++v)
                    scatter_(dx + (size_t)v * LANES * dxs.b + t * dxs.t + k * dxs.f, dxs.b,
                             B - v * LANES, V(out + (size_t)k * step + v * LANES));
    }
    for (int j = 0; j < H; ++j)
        for (int v = 0; v < nv; ++v) {
            const int n = B - v * LANES;
            const size_t o = (size_t)j * step + v * LANES;
            if (dh0) scatter_(dh0 + (size_t)v * LANES * H + j, H, n, V(dh + o));
            if (dc0) scatter_(dc0 + (size_t)v * LANES * H + j, H, n, V(dc + o));
        }
    for (int g = 0; g < G; ++g) {
        float s = 0.0f;
        for (int l = 0; l < LANES; ++l) s += db_acc[(size_t)g * LANES + l];
        db[g] = s;
    }
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
                          const float *R wc, const float *R act, const float *R cs,
                          const float *R c0, float *R dz, float *R db, float *R dwc, float *R dx,
                          ptrdiff_t dxs_b, ptrdiff_t dxs_t, ptrdiff_t dxs_f, float *R dh0,
                          float *R dc0) {
    const strides3 dys = {dys_b, dys_t, dys_f}, dxs = {dxs_b, dxs_t, dxs_f};
    return lstm_backward_(T, B, I, H, dy, dys, dhT, dcT, w_ih, w_hh, wc, act, cs, c0,
                          dz, db, dwc, dx, dxs, dh0, dc0);
}
