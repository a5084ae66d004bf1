/* LSTM sequence kernels (stock and peephole) for small cells on the CPU.

   The chapter's cells are tiny (20 units, batch 32): per time step, a library kernel pays
   call overhead comparable to the arithmetic, and the peephole cell has no library kernel
   at all. Here one C call runs all T steps. Each step does the recurrent product of every
   batch row (the weights, a few KB, stay in L1 cache), then every row's gates on whole
   vectors, with exp, sigmoid and tanh computed in registers. The input projections and
   the weight gradients are single matrix products done by the caller (lstm_kernel.py).

   Units are padded from H to Hp = seqcast_padded(H), a multiple of the vector width, in
   what the kernels keep (gate q, unit j at q Hp + j). All arrays are float32, C-contiguous
   unless a stride is given; gates in torch.nn's order i, f, g, o.

   Every exported function returns 0, or 1 when it could not allocate its scratch memory. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define R __restrict__

/* Vectors of LANES floats (GCC and Clang vector extensions): one AVX register where there
   is AVX, emulated with narrower registers elsewhere. Units are padded to a multiple of
   LANES, so every loop runs whole vectors; the padding lanes stay zero or hold finite
   values that never reach an output. */
#define LANES 8
typedef float v8 __attribute__((vector_size(4 * LANES)));
typedef int32_t v8i __attribute__((vector_size(4 * LANES)));
typedef float v8u __attribute__((vector_size(4 * LANES), aligned(4)));
#define V(ptr) (*(v8u *)(ptr)) /* no alignment assumed: the same speed when aligned */

int seqcast_padded(int H) { return (H + LANES - 1) / LANES * LANES; }

static float *alloc_(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, sizeof(float) * (n ? n : 1))) return NULL;
    memset(p, 0, sizeof(float) * n);
    return (float *)p;
}

#if defined(__AVX__) && LANES == 8
#include <immintrin.h>
static inline v8 clamp_(v8 x, float lo, float hi) {
    return _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(lo)), _mm256_set1_ps(hi));
}
/* 1 / x: the 12-bit hardware estimate and one Newton step, to about 1 ulp; faster than a
   division */
static inline v8 recip_(v8 x) {
    const v8 r = _mm256_rcp_ps(x);
    return r * (2.0f - x * r);
}
static inline __m256i first_(int n) {
    const v8i lane = {0, 1, 2, 3, 4, 5, 6, 7};
    return (__m256i)(lane < n);
}
/* The first n < LANES lanes of a vector to or from memory that may end there */
static inline void store_n_(float *p, v8 v, int n) { _mm256_maskstore_ps(p, first_(n), v); }
static inline v8 load_n_(const float *p, int n) { return _mm256_maskload_ps(p, first_(n)); }
#else
static inline v8 clamp_(v8 x, float lo, float hi) {
    v8i below = x < lo, above = x > hi;
    v8 l = x * 0.0f + lo, h = x * 0.0f + hi;
    return (v8)((below & (v8i)l) | (above & (v8i)h) | (~(below | above) & (v8i)x));
}
static inline v8 recip_(v8 x) { return 1.0f / x; }
static inline void store_n_(float *p, v8 v, int n) {
    for (int l = 0; l < n; ++l) p[l] = v[l];
}
static inline v8 load_n_(const float *p, int n) {
    v8 v = {0};
    for (int l = 0; l < n; ++l) v[l] = p[l];
    return v;
}
#endif
/* Vectors to or from an unpadded row of n floats, from lane j on */
static inline void store_row_(float *p, v8 v, int n) {
    if (n >= LANES) V(p) = v;
    else store_n_(p, v, n);
}
static inline v8 load_row_(const float *p, int n) { return n >= LANES ? V(p) : load_n_(p, n); }

/* exp(x) to about 1 ulp: Cody-Waite range reduction and Cephes' degree-6 polynomial, on
   whole vectors (libm's expf is a scalar call). The argument is clamped to [-87, 87], so
   no sigmoid below comes out denormal. */
static inline v8 exp_(v8 x) {
    x = clamp_(x, -87.0f, 87.0f);
    v8 n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round(x / ln 2) */
    v8 r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    v8 q = r * 1.9875691500e-4f + 1.3981999507e-3f;
    q = q * r + 8.3334519073e-3f;
    q = q * r + 4.1665795894e-2f;
    q = q * r + 1.6666665459e-1f;
    q = q * r + 5.0000001201e-1f;
    q = q * r * r + r + 1.0f;
    v8i e = (__builtin_convertvector(n, v8i) + 127) << 23;
    return q * (v8)e;
}

static inline v8 sigmoid_(v8 x) { return recip_(1.0f + exp_(-x)); }
static inline v8 tanh_(v8 x) { return 2.0f * recip_(1.0f + exp_(-2.0f * x)) - 1.0f; }

/* z (Gp) += h (H) W, W (H, Gp) row-major, Gp a multiple of 4 LANES. Even and odd k go to
   separate accumulators, so 8 independent chains of multiply-adds hide their latency. */
static inline void gemv_(float *R z, const float *R h, const float *R w, int H, int Gp) {
    for (int g0 = 0; g0 < Gp; g0 += 4 * LANES) {
        v8 a0 = V(z + g0), a1 = V(z + g0 + LANES), a2 = V(z + g0 + 2 * LANES);
        v8 a3 = V(z + g0 + 3 * LANES);
        v8 b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
        const float *R row = w + g0;
        int k = 0;
#pragma GCC unroll 16
        for (; k + 1 < H; k += 2, row += 2 * Gp) {
            const float hk = h[k], hl = h[k + 1];
            a0 += hk * V(row);
            a1 += hk * V(row + LANES);
            a2 += hk * V(row + 2 * LANES);
            a3 += hk * V(row + 3 * LANES);
            b0 += hl * V(row + Gp);
            b1 += hl * V(row + Gp + LANES);
            b2 += hl * V(row + Gp + 2 * LANES);
            b3 += hl * V(row + Gp + 3 * LANES);
        }
        if (k < H) {
            const float hk = h[k];
            a0 += hk * V(row);
            a1 += hk * V(row + LANES);
            a2 += hk * V(row + 2 * LANES);
            a3 += hk * V(row + 3 * LANES);
        }
        V(z + g0) = a0 + b0;
        V(z + g0 + LANES) = a1 + b1;
        V(z + g0 + 2 * LANES) = a2 + b2;
        V(z + g0 + 3 * LANES) = a3 + b3;
    }
}

/* dh[k0 : k0 + n LANES] = dz (G) W[:, k0 : ...], W (G, Hp) row-major, G a multiple of 4;
   n is a constant where this is inlined. Four partial sums over g per output vector keep
   the chains of dependent multiply-adds short. */
static inline __attribute__((always_inline)) void gemv_back_block_(
    float *R dh, const float *R dz, const float *R w, int G, int Hp, const int n) {
    v8 acc[4][4] = {{{0}}};
    for (int g = 0; g < G; g += 4, w += 4 * Hp) {
        for (int s = 0; s < 4; ++s) {
            const float d = dz[g + s];
            for (int m = 0; m < n; ++m) acc[s][m] += d * V(w + s * Hp + m * LANES);
        }
    }
    for (int m = 0; m < n; ++m)
        V(dh + m * LANES) = (acc[0][m] + acc[1][m]) + (acc[2][m] + acc[3][m]);
}

/* dh (Hp) = dz (G) W, W (G, Hp) row-major, G a multiple of 4. */
static inline void gemv_back_(float *R dh, const float *R dz, const float *R w, int G, int Hp) {
    for (int k0 = 0; k0 < Hp; k0 += 4 * LANES) {
        switch (Hp - k0 >= 4 * LANES ? 4 : (Hp - k0) / LANES) {
            case 4: gemv_back_block_(dh + k0, dz, w + k0, G, Hp, 4); break;
            case 3: gemv_back_block_(dh + k0, dz, w + k0, G, Hp, 3); break;
            case 2: gemv_back_block_(dh + k0, dz, w + k0, G, Hp, 2); break;
            default: gemv_back_block_(dh + k0, dz, w + k0, G, Hp, 1); break;
        }
    }
}

/* LSTM (optionally with peepholes) over T steps.
     z    (T, B, 4Hp)  in: the input projections plus biases, in the padded layout (gate q,
                       unit j at q Hp + j, Hp = seqcast_padded(H), zero in the padding);
                       out: the gate activations i, f, g, o, which the backward pass needs
     w_hh (4H, H), wc (3, H) or NULL, h0, c0 (B, H)
   Writes the outputs hs (T, B, H) and the final state hT, cT (B, H). When training, also
   keeps the cell states cs (T, B, Hp) and tanh(c) tcs (T, B, Hp); pass NULL for both
   otherwise. Each step first runs the recurrent products of all batch rows, then all
   rows' gates: the rows are independent, so the processor overlaps their chains of
   dependent operations. */
static int lstm_forward_(
    int T, int B, int H, const int Hp, float *R z, const float *R w_hh, const float *R wc,
    const float *R h0, const float *R c0, float *R hs, float *R cs, float *R tcs, float *R hT,
    float *R cT) {
    const int Gp = 4 * Hp;
    const size_t bh = (size_t)B * Hp;
    float *buf = alloc_((size_t)Hp * Gp + 3 * (size_t)Hp + (size_t)Hp + 2 * bh);
    if (!buf) return 1;
    float *wt = buf, *wcp = wt + (size_t)Hp * Gp, *tc_scratch = wcp + 3 * Hp;
    float *h_rows = tc_scratch + Hp, *c_rows = h_rows + bh;
    /* W_hh^T, padded: wt[k][q Hp + j] = W_hh[q H + j][k], zero elsewhere */
    for (int q = 0; q < 4; ++q)
        for (int j = 0; j < H; ++j)
            for (int k = 0; k < H; ++k)
                wt[(size_t)k * Gp + q * Hp + j] = w_hh[(size_t)(q * H + j) * H + k];
    if (wc)
        for (int q = 0; q < 3; ++q) memcpy(wcp + q * Hp, wc + q * H, sizeof(float) * H);
    /* Each row's state, padded: h_{t-1}, and c_{t-1} unless cs keeps it */
    for (int b = 0; b < B; ++b) {
        memcpy(h_rows + b * Hp, h0 + (size_t)b * H, sizeof(float) * H);
        memcpy(c_rows + b * Hp, c0 + (size_t)b * H, sizeof(float) * H);
    }
    for (int t = 0; t < T; ++t) {
        float *zt = z + (size_t)t * B * Gp;
        for (int b = 0; b < B; ++b) gemv_(zt + (size_t)b * Gp, h_rows + b * Hp, wt, Hp, Gp);
        for (int b = 0; b < B; ++b) {
            const size_t row = (size_t)t * B + b;
            float *a = zt + (size_t)b * Gp, *h = h_rows + b * Hp;
            const float *cprev = t > 0 && cs ? cs + (row - B) * Hp : c_rows + b * Hp;
            float *c = cs ? cs + row * Hp : c_rows + b * Hp;
            float *tc = tcs ? tcs + row * Hp : tc_scratch;
            for (int j = 0; j < Hp; j += LANES) {
                const v8 cp = V(cprev + j);
                const v8 i = sigmoid_(V(a + j) + V(wcp + j) * cp);
                const v8 f = sigmoid_(V(a + Hp + j) + V(wcp + Hp + j) * cp);
                const v8 g = tanh_(V(a + 2 * Hp + j));
                const v8 cn = f * cp + i * g;
                const v8 o = sigmoid_(V(a + 3 * Hp + j) + V(wcp + 2 * Hp + j) * cn);
                const v8 tcn = tanh_(cn);
                V(a + j) = i;
                V(a + Hp + j) = f;
                V(a + 2 * Hp + j) = g;
                V(a + 3 * Hp + j) = o;
                V(c + j) = cn;
                V(tc + j) = tcn;
                V(h + j) = o * tcn;
                if (j < H) store_row_(hs + row * H + j, o * tcn, H - j);
            }
            if (t == T - 1) {
                memcpy(hT + (size_t)b * H, h, sizeof(float) * H);
                memcpy(cT + (size_t)b * H, c, sizeof(float) * H);
            }
        }
    }
    free(buf);
    return 0;
}

/* Backpropagation through time of seqcast_lstm_forward. dy is the gradient of the outputs,
   element (t, b, j) at dy[t * dy_t + b * dy_b + j]; dhT, dcT (B, H) that of the final
   state; act, cs, tcs what the forward pass kept. Writes dz (T, B, 4Hp), the gradient of
   the gate pre-activations in the padded layout (from which the caller gets the weight
   gradients with single matrix products), and dh0, dc0 (B, H). */
static int lstm_backward_(
    int T, int B, int H, const int Hp, const float *R dy, ptrdiff_t dy_t, ptrdiff_t dy_b,
    const float *R dhT, const float *R dcT, const float *R w_hh, const float *R wc,
    const float *R act, const float *R cs, const float *R tcs, const float *R c0, float *R dz,
    float *R dh0, float *R dc0) {
    const int Gp = 4 * Hp;
    const size_t bh = (size_t)B * Hp;
    float *buf = alloc_((size_t)Gp * Hp + 3 * (size_t)Hp + 3 * bh);
    if (!buf) return 1;
    float *w = buf, *wcp = w + (size_t)Gp * Hp, *dh = wcp + 3 * Hp, *dc = dh + bh, *c0p = dc + bh;
    /* W_hh, padded: w[q Hp + j][k] = W_hh[q H + j][k], zero elsewhere */
    for (int q = 0; q < 4; ++q)
        for (int j = 0; j < H; ++j)
            memcpy(w + (size_t)(q * Hp + j) * Hp, w_hh + (size_t)(q * H + j) * H,
                   sizeof(float) * H);
    if (wc)
        for (int q = 0; q < 3; ++q) memcpy(wcp + q * Hp, wc + q * H, sizeof(float) * H);
    /* dh, dc: the gradient reaching each row's state from the step after */
    for (int b = 0; b < B; ++b) {
        memcpy(dh + b * Hp, dhT + (size_t)b * H, sizeof(float) * H);
        memcpy(dc + b * Hp, dcT + (size_t)b * H, sizeof(float) * H);
        memcpy(c0p + b * Hp, c0 + (size_t)b * H, sizeof(float) * H);
    }
    for (int t = T - 1; t >= 0; --t) {
        for (int b = 0; b < B; ++b) {
            const size_t row = (size_t)t * B + b;
            const float *a = act + row * Gp, *tc = tcs + row * Hp;
            const float *cp = t > 0 ? cs + (row - B) * Hp : c0p + b * Hp;
            float *dhb = dh + b * Hp, *dcb = dc + b * Hp, *d = dz + row * Gp;
            const float *dyt = dy + t * dy_t + b * dy_b;
            for (int j = 0; j < Hp; j += LANES) {
                const v8 i = V(a + j), f = V(a + Hp + j), g = V(a + 2 * Hp + j);
                const v8 o = V(a + 3 * Hp + j), tcj = V(tc + j);
                const v8 dhj = j < H ? V(dhb + j) + load_row_(dyt + j, H - j) : V(dhb + j);
                const v8 dzo = dhj * tcj * o * (1.0f - o);
                const v8 dct =
                    V(dcb + j) + dhj * o * (1.0f - tcj * tcj) + dzo * V(wcp + 2 * Hp + j);
                const v8 dzi = dct * g * i * (1.0f - i);
                const v8 dzf = dct * V(cp + j) * f * (1.0f - f);
                V(d + j) = dzi;
                V(d + Hp + j) = dzf;
                V(d + 2 * Hp + j) = dct * i * (1.0f - g * g);
                V(d + 3 * Hp + j) = dzo;
                V(dcb + j) = dct * f + dzi * V(wcp + j) + dzf * V(wcp + Hp + j);
            }
        }
        for (int b = 0; b < B; ++b)
            gemv_back_(dh + b * Hp, dz + ((size_t)t * B + b) * Gp, w, Gp, Hp);
    }
    for (int b = 0; b < B; ++b) {
        memcpy(dh0 + (size_t)b * H, dh + b * Hp, sizeof(float) * H);
        memcpy(dc0 + (size_t)b * H, dc + b * Hp, sizeof(float) * H);
    }
    free(buf);
    return 0;
}

int seqcast_lstm_forward(int T, int B, int H, float *R z, const float *R w_hh,
                         const float *R wc, const float *R h0, const float *R c0,
                         float *R hs, float *R cs, float *R tcs, float *R hT, float *R cT) {
    return lstm_forward_(T, B, H, seqcast_padded(H), z, w_hh, wc, h0, c0, hs, cs, tcs, hT, cT);
}

int seqcast_lstm_backward(int T, int B, int H, const float *R dy, ptrdiff_t dy_t,
                          ptrdiff_t dy_b, const float *R dhT, const float *R dcT,
                          const float *R w_hh, const float *R wc, const float *R act,
                          const float *R cs, const float *R tcs, const float *R c0,
                          float *R dz, float *R dh0, float *R dc0) {
    return lstm_backward_(T, B, H, seqcast_padded(H), dy, dy_t, dy_b, dhT, dcT, w_hh, wc, act,
                          cs, tcs, c0, dz, dh0, dc0);
}
