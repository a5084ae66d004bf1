/* WaveNets: the gated residual stack, the simple WaveNet's causal ReLU convolutions and
   generation from ring buffers. */

#include "common.h"

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
   which is the causal zero padding.

   Global conditioning (section 2.5 of the paper): b_rows, where given, holds a bias per
   batch row for each layer's gate pre-activations, (B, L, 2R), added to z_f | z_g at every
   step of that row. */

typedef struct {
    int L, Rc, S, Kt, T, B, Bp, N, P;
    const int64_t *dil;
    const float *const *w_conv, *const *b_conv, *const *w_out, *const *b_out;
    const float *b_rows;
} wavenet_;

/* Forward. h0 (B, T, R) through strides xs. Writes the skip sum (S, N). When training,
   keeps hs (L + 1, R, P + N), every layer's input (and the last one's output), and gates
   (L, 2R, N), tanh(z_f) and sigmoid(z_g); otherwise hs holds two layers (2, R, P + N) and
   gates one (1, 2R, N). */
static int wavenet_forward_(const wavenet_ *m, const float *R h0, strides3 xs, float *R hs,
                            float *R gates, float *R skips, int training) {
    const int L = m->L, R_ = m->Rc, S = m->S, Kt = m->Kt, N = m->N, P = m->P, Bp = m->Bp;
    const int nv = N / LANES, ld = P + N;
    float *buf = alloc_((size_t)Kt * R_ * 2 * R_ + (size_t)R_ * (R_ + S) + (size_t)R_ * N +
                        2 * (size_t)R_ + (size_t)m->B);
    if (!buf) return 1;
    float *wc = buf, *wo = wc + (size_t)Kt * R_ * 2 * R_, *a = wo + (size_t)R_ * (R_ + S);
    float *bias = a + (size_t)R_ * N; /* one series' conditioned gate biases */
    float *rb = bias + 2 * (size_t)R_;  /* one channel's bias of every batch row */
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
        const int d = (int)m->dil[l];
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
        const float *b_conv = m->b_conv[l];
        if (m->b_rows && Bp == 1) { /* one series: its bias joins the layer's */
            for (int r = 0; r < 2 * R_; ++r) bias[r] = b_conv[r] + m->b_rows[(size_t)l * 2 * R_ + r];
            b_conv = bias;
        }
        for (int k = 0; k < Kt; ++k) /* tap k looks (Kt - 1 - k) d steps back */
            product_(z, N, wc + (size_t)k * R_ * 2 * R_, 2 * R_, k == 0 ? b_conv : NULL,
                     hin + P - (ptrdiff_t)(Kt - 1 - k) * d * Bp, ld, R_, 2 * R_, nv, k > 0);
        if (m->b_rows && Bp > 1) /* column t B + b gets row b's bias */
            for (int r = 0; r < 2 * R_; ++r) {
                float *zr = z + (size_t)r * N;
                for (int b = 0; b < Bp; ++b) rb[b] = m->b_rows[((size_t)b * L + l) * 2 * R_ + r];
                for (int t = 0; t < m->T; ++t)
                    for (int b = 0; b < Bp; ++b) zr[(size_t)t * Bp + b] += rb[b];
            }
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
   db_out[l] (R + S), and db_rows (B, L, 2R) unless NULL. */
static int wavenet_backward_(const wavenet_ *m, const float *R dy, strides3 dys,
                             const float *R hs, const float *R gates, float *R dx,
                             strides3 dxs, float *const *dw_conv, float *const *db_conv,
                             float *const *dw_out, float *const *db_out, float *R db_rows) {
    const int L = m->L, R_ = m->Rc, S = m->S, Kt = m->Kt, N = m->N, P = m->P, Bp = m->Bp;
    const int nv = N / LANES, ld = P + N;
    /* dS (S, N): dy feature-major; dh (R, N) twice (ping-pong); dz (2R, N + P), zero past N;
       da, a (R, N); weights transposed for the products */
    const size_t n_dz = (size_t)2 * R_ * (N + P);
    float *buf = alloc_((size_t)S * N + 2 * (size_t)R_ * N + n_dz + 2 * (size_t)R_ * N +
                        (size_t)Kt * 2 * R_ * R_ + (size_t)Bp);
    if (!buf) return 1;
    float *dS = buf, *dh = dS + (size_t)S * N, *dz = dh + 2 * (size_t)R_ * N;
    float *da = dz + n_dz, *a = da + (size_t)R_ * N, *wk = a + (size_t)R_ * N;
    float *acc = wk + (size_t)Kt * 2 * R_ * R_; /* one channel's sums, one per batch row */
    for (int s = 0; s < S; ++s) /* the padding columns stay zero (alloc_) */
        for (int t = 0; t < m->T; ++t) gather_step_(dS + (size_t)s * N + (size_t)t * Bp, dy, dys, t, s, m->B);
    float skip_bias_grad[S > 0 ? S : 1];
    row_sums_(skip_bias_grad, dS, N, S, nv);
    /* dh of the last layer's output: zero (only the skips leave the stack) */
    float *dh_out = dh, *dh_in = dh + (size_t)R_ * N;
    for (int l = L - 1; l >= 0; --l) {
        const int d = (int)m->dil[l];
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
        if (l == L - 1) /* no gradient reaches the last residual: zero, as autograd's (not 0 a,
                           which is NaN where a is) */
            memset(dw_out[l], 0, sizeof(float) * R_ * R_);
        else
            gram_(dw_out[l], R_, 1, dh_out, N, R_, a, N, R_, nv, 0);
        gram_(dw_out[l] + (size_t)R_ * R_, R_, 1, dS, N, S, a, N, R_, nv, 0);
        row_sums_(db_out[l], dh_out, N, R_, nv);
        memcpy(db_out[l] + R_, skip_bias_grad, sizeof(float) * S);
        /* of the convolution: tap k pairs dz with the input shifted by (Kt - 1 - k) d steps */
        for (int k = 0; k < Kt; ++k)
            gram_(dw_conv[l] + k, R_ * Kt, Kt, dz, N + P, 2 * R_,
                  hin + P - (ptrdiff_t)(Kt - 1 - k) * d * Bp, ld, R_, nv, 0);
        row_sums_(db_conv[l], dz, N + P, 2 * R_, nv);
        if (db_rows && Bp == 1) /* one series: its bias's gradient is the layer bias's */
            memcpy(db_rows + (size_t)l * 2 * R_, db_conv[l], sizeof(float) * 2 * R_);
        else if (db_rows) /* row b's bias: its columns t B + b summed, all rows at once */
            for (int r = 0; r < 2 * R_; ++r) {
                const float *dzr = dz + (size_t)r * (N + P);
                memset(acc, 0, sizeof(float) * Bp);
                for (int t = 0; t < m->T; ++t)
                    for (int b = 0; b < Bp; ++b) acc[b] += dzr[(size_t)t * Bp + b];
                for (int b = 0; b < Bp; ++b) db_rows[((size_t)b * L + l) * 2 * R_ + r] = acc[b];
            }
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

static int stack_ok_(int64_t L, int64_t C, int64_t S, int64_t K, int64_t T, int64_t B,
                     int64_t P, const int64_t *dil) {
    if (!SIZE_OK_(L) || !SIZE_OK_(C) || !SIZE_OK_(S) || !SIZE_OK_(K) || !SIZE_OK_(T) ||
        !SIZE_OK_(B) || T * B > (1 << 28) || P < 0 || !dil)
        return 0;
    for (int64_t l = 0; l < L; ++l) /* the padding covers every tap's look back */
        if (dil[l] < 1 || (K - 1) * dil[l] * B > P) return 0;
    return 1;
}

int seqcast_wavenet_forward(const seqcast_wavenet_forward_args *a) {
    if (!a || !stack_ok_(a->L, a->C, a->S, a->K, a->T, a->B, a->P, a->dilations) || !a->x ||
        !a->w_conv || !a->b_conv || !a->w_out || !a->b_out || !a->hs || !a->gates || !a->skips)
        return SEQCAST_BAD_ARGUMENT;
    const int T = (int)a->T, B = (int)a->B;
    const wavenet_ m = {(int)a->L, (int)a->C, (int)a->S, (int)a->K, T, B, B,
                        (T * B + LANES - 1) / LANES * LANES, (int)a->P, a->dilations,
                        a->w_conv, a->b_conv, a->w_out, a->b_out, a->b_rows};
    return wavenet_forward_(&m, a->x, strides_(a->x_strides), a->hs, a->gates, a->skips,
                            (int)a->training);
}

int seqcast_wavenet_backward(const seqcast_wavenet_backward_args *a) {
    if (!a || !stack_ok_(a->L, a->C, a->S, a->K, a->T, a->B, a->P, a->dilations) || !a->dy ||
        !a->w_conv || !a->w_out || !a->hs || !a->gates || !a->dw_conv || !a->db_conv ||
        !a->dw_out || !a->db_out)
        return SEQCAST_BAD_ARGUMENT;
    const int T = (int)a->T, B = (int)a->B;
    const wavenet_ m = {(int)a->L, (int)a->C, (int)a->S, (int)a->K, T, B, B,
                        (T * B + LANES - 1) / LANES * LANES, (int)a->P, a->dilations,
                        a->w_conv, NULL, a->w_out, NULL, NULL};
    return wavenet_backward_(&m, a->dy, strides_(a->dy_strides), a->hs, a->gates, a->dx,
                             strides_(a->dx_strides), a->dw_conv, a->db_conv, a->dw_out,
                             a->db_out, a->db_rows);
}

/* ---- A stack of causal convolutions with ReLU (the chapter's simple WaveNet) -------------

   Layer l maps C[l] channels to C[l + 1] with Kt taps and dilation dil[l], then ReLU. The
   same layout as the residual stack: rows of (step, batch row) columns, P zero columns in
   front of every layer's input. hs holds every layer's input and the last one's output at
   row offsets sum(C[:l]) (P + N) when training, two buffers of max(C) rows otherwise. */

typedef struct {
    int L, Kt, T, B, N, P, maxc;
    const int64_t *C, *dil;
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
        const int ci = (int)m->C[l], co = (int)m->C[l + 1], d = (int)m->dil[l];
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
                V(h) = relu_(V(h));
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
        const int ci = (int)m->C[l], co = (int)m->C[l + 1], d = (int)m->dil[l];
        const float *hin = hs + convs_offset_(m, l, 1), *hout = hs + convs_offset_(m, l + 1, 1);
        for (int o = 0; o < co; ++o) /* through the ReLU: zero where the output is */
            for (int v = 0; v < nv; ++v) {
                float *g = dh + (size_t)o * (N + P) + v * LANES;
                V(g) = relu_grad_(V(g), V(hout + (size_t)o * ld + P + v * LANES));
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

/* The convs_ of an entry point, or 0 where a size would read out of bounds */
static int convs_of_(convs_ *m, int64_t L, int64_t K, int64_t T, int64_t B, int64_t P,
                     const int64_t *C, const int64_t *dil, const float *const *w,
                     const float *const *b) {
    if (!SIZE_OK_(L) || !SIZE_OK_(K) || !SIZE_OK_(T) || !SIZE_OK_(B) || T * B > (1 << 28) ||
        P < 0 || !C || !dil || !w)
        return 0;
    int64_t maxc = 0;
    for (int64_t l = 0; l <= L; ++l) {
        if (!SIZE_OK_(C[l])) return 0;
        maxc = C[l] > maxc ? C[l] : maxc;
    }
    for (int64_t l = 0; l < L; ++l)
        if (dil[l] < 1 || (K - 1) * dil[l] * B > P) return 0;
    *m = (convs_){(int)L, (int)K, (int)T, (int)B, (int)((T * B + LANES - 1) / LANES * LANES),
                  (int)P, (int)maxc, C, dil, w, b};
    return 1;
}

int seqcast_convs_forward(const seqcast_convs_forward_args *a) {
    convs_ m;
    if (!a || !convs_of_(&m, a->L, a->K, a->T, a->B, a->P, a->channels, a->dilations, a->w, a->b) ||
        !a->b || !a->x || !a->hs)
        return SEQCAST_BAD_ARGUMENT;
    return convs_forward_(&m, a->x, strides_(a->x_strides), a->hs, (int)a->training);
}

int seqcast_convs_backward(const seqcast_convs_backward_args *a) {
    convs_ m;
    if (!a || !convs_of_(&m, a->L, a->K, a->T, a->B, a->P, a->channels, a->dilations, a->w, NULL) ||
        !a->dy || !a->hs || !a->dw || !a->db)
        return SEQCAST_BAD_ARGUMENT;
    return convs_backward_(&m, a->dy, strides_(a->dy_strides), a->hs, a->dx,
                           strides_(a->dx_strides), a->dw, a->db);
}

/* ---- WaveNet generation: one sample at a time, from ring buffers -------------------------

   The per-sample steps of a full WaveNet, either head (Paine et al. 2016's cached
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

/* The class drawn from softmax(y / temperature) over n logits at the uniform u in [0, 1):
   the first class whose cumulative probability exceeds u (the last class if rounding leaves
   u above them all), in the order of operations of the eager steps (softmax, then
   searchsorted over its cumulative sum), so both draw the same class from the same u.
   e: scratch of n floats padded to whole vectors. */
static int sample_class_(const float *R y, float *R e, int n, float temperature, float u) {
    float m = y[0] / temperature, sum = 0.0f, cum = 0.0f;
    for (int k = 1; k < n; ++k) m = y[k] / temperature > m ? y[k] / temperature : m;
    for (int v = 0; v < n; v += LANES) V(e + v) = exp_(V(y + v) / temperature - m);
    for (int k = 0; k < n; ++k) sum += e[k];
    for (int k = 0; k < n; ++k) {
        cum += e[k] / sum;
        if (cum > u) return k;
    }
    return n - 1;
}

/* Continue B streams by steps - 1 samples after values[b][0] (the forecast made at the end
   of the history, step t0 = history length). q_in and queues[l] are the ring buffers of
   the input convolution (C_in = 1) and of each layer's convolution (B, (Kt - 1) d, R),
   updated in place. The head: ReLU, w1 (H1, S) + b1, ReLU, w2 (O, H1) + b2; what is fed
   back depends on a->head: SEQCAST_HEAD_DENSE its first output; SEQCAST_HEAD_MULAW the
   amplitude table[k] of the class k drawn from its O logits at uniforms[b][i]
   (sample_class_). values (B, steps). */
static int generate_(const seqcast_wavenet_generate_args *a) {
    const int L = (int)a->L, R_ = (int)a->C, S = (int)a->S, Kt = (int)a->K;
    const int d_in = (int)a->input_dilation, B = (int)a->B, steps = (int)a->steps;
    const int H1 = (int)a->hidden, O = (int)a->outputs;
    const long long t0 = a->t0;
    const int64_t *dil = a->dilations;
    const float *R w_in = a->w_in, *R b_in = a->b_in, *R w1 = a->w1, *R b1 = a->b1;
    const float *R w2 = a->w2, *R b2 = a->b2;
    const float temperature = (float)a->temperature;
    const float *const *w_conv = a->w_conv, *const *b_conv = a->b_conv;
    const float *const *w_out = a->w_out, *const *b_out = a->b_out;
    float *const *q = a->queues;
    float *R q_in = a->q_in, *R values = a->values;
    const int Rp = PAD_(R_), Sp = PAD_(S), Hp = PAD_(H1), Op = PAD_(O);
    const int Gp = 2 * Rp, Mp = Rp + Sp; /* z: f then g; 1x1: residual then skip */
    const size_t n_conv = (size_t)Kt * R_ * Gp, n_out = (size_t)R_ * Mp;
    float *buf = alloc_((size_t)L * (n_conv + n_out + Gp + Mp) + (size_t)Kt * Rp + Rp +
                        (size_t)S * Hp + Hp + (size_t)H1 * Op + Op +
                        (size_t)Kt * Rp + Gp + 3 * (size_t)Mp + Rp + Hp + 2 * (size_t)Op);
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
            values[(size_t)b * steps + i] =
                a->head == SEQCAST_HEAD_MULAW
                    ? a->table[sample_class_(y, y + Op, O, temperature, a->uniforms[(size_t)b * steps + i])]
                    : y[0];
        }
    }
    free(hs);
    free(buf);
    return 0;
}

int seqcast_wavenet_generate(const seqcast_wavenet_generate_args *a) {
    if (!a || !SIZE_OK_(a->L) || !SIZE_OK_(a->C) || !SIZE_OK_(a->S) || !SIZE_OK_(a->K) ||
        !SIZE_OK_(a->B) || !SIZE_OK_(a->steps) || !SIZE_OK_(a->hidden) || !SIZE_OK_(a->outputs) ||
        (a->head != SEQCAST_HEAD_DENSE && a->head != SEQCAST_HEAD_MULAW) ||
        (a->head == SEQCAST_HEAD_MULAW && (!a->uniforms || !a->table || !(a->temperature > 0))) ||
        a->input_dilation < 1 || a->t0 < 0 || !a->dilations ||
        !a->w_in || !a->b_in || (a->K > 1 && !a->q_in) || !a->w_conv || !a->b_conv || !a->w_out ||
        !a->b_out || !a->queues || !a->w1 || !a->b1 || !a->w2 || !a->b2 || !a->values)
        return SEQCAST_BAD_ARGUMENT;
    for (int64_t l = 0; l < a->L; ++l)
        if (a->dilations[l] < 1 || (a->K > 1 && !a->queues[l])) return SEQCAST_BAD_ARGUMENT;
    return generate_(a);
}
