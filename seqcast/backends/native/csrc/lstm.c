/* The LSTM and the peephole LSTM (see common.h for the layout). */

#include "common.h"

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
    state_in_(xh + (size_t)I * ldx, ldx, h0, H, B, nv);
    state_in_(c_init, step, c0, H, B, nv);
    for (int t = 0; t < T; ++t) {
        const int s = training ? t : t & 1, s1 = training ? t + 1 : (t + 1) & 1;
        float *xt = xh + (size_t)s * step, *hn = xh + (size_t)I * ldx + (size_t)s1 * step;
        float *a = training ? act + (size_t)t * G * step : act;
        const float *cp = t == 0 ? c_init : cs + (size_t)(training ? t - 1 : (t - 1) & 1) * H * step;
        float *c = cs + (size_t)s * H * step;
        load_x_(xt, ldx, x, xs, t, I, B, nv);
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
            }
        }
        if (t == T - 1) {
            state_out_(hT, hn, ldx, H, B, nv);
            state_out_(cT, c, step, H, B, nv);
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
    state_in_(dh, step, dhT, H, B, nv);
    state_in_(dc, step, dcT, H, B, nv);
    state_in_(c_init, step, c0, H, B, nv);
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
    if (dh0) state_out_(dh0, dh, step, H, B, nv);
    if (dc0) state_out_(dc0, dc, step, H, B, nv);
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

/* The LSTMs' part of seqcast_recurrent_forward / _backward (recurrent.c checks the sizes) */
int lstm_forward_entry_(const seqcast_recurrent_forward_args *a) {
    return lstm_forward_((int)a->T, (int)a->B, (int)a->I, (int)a->H, a->x, strides_(a->x_strides),
                         a->w_ih, a->w_hh, a->b_ih, a->b_hh,
                         a->cell == SEQCAST_PEEPHOLE_LSTM ? a->w_ch : NULL, a->h0, a->c0, a->hs,
                         a->hT, a->cT, a->xh, a->act, a->cs);
}

int lstm_backward_entry_(const seqcast_recurrent_backward_args *a) {
    return lstm_backward_((int)a->T, (int)a->B, (int)a->I, (int)a->H, a->dy,
                          strides_(a->dy_strides), a->dhT, a->dcT, a->w_ih, a->w_hh,
                          a->cell == SEQCAST_PEEPHOLE_LSTM ? a->w_ch : NULL, a->xh, a->act, a->cs,
                          a->c0, a->dw_ih, a->dw_hh, a->db_ih, a->dw_ch, a->dx,
                          strides_(a->dx_strides), a->dh0, a->dc0);
}
