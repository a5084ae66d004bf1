/* The Elman RNN, the GRU and the layer-norm SimpleRNN (see common.h for the layout). */

#include "common.h"

int seqcast_lanes(void) { return LANES; }

/* ---- The Elman RNN and the GRU ---------------------------------------------------------

   Same layouts as the LSTM: when training, xh (I + H, T + 1, Bp) keeps [x_t; h_{t-1}] at
   column block t (so the outputs are its rows I.. at blocks 1..T); otherwise the outputs go
   to hs (H, T, Bp). The weight gradients are computed here too (gram_), so the caller makes
   no product. */

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

/* ---- Entry points ---------------------------------------------------------------------- */

int64_t seqcast_struct_size(int64_t which) {
    switch (which) {
    case 0: return sizeof(seqcast_recurrent_forward_args);
    case 1: return sizeof(seqcast_recurrent_backward_args);
    case 2: return sizeof(seqcast_wavenet_forward_args);
    case 3: return sizeof(seqcast_wavenet_backward_args);
    case 4: return sizeof(seqcast_convs_forward_args);
    case 5: return sizeof(seqcast_convs_backward_args);
    case 6: return sizeof(seqcast_wavenet_generate_args);
    case 7: return sizeof(seqcast_head_loss_args);
    default: return -1;
    }
}

static int sizes_ok_(int64_t cell, int64_t T, int64_t B, int64_t I, int64_t H) {
    return cell >= SEQCAST_RNN_TANH && cell <= SEQCAST_PEEPHOLE_LSTM && SIZE_OK_(T) &&
           SIZE_OK_(B) && SIZE_OK_(I) && SIZE_OK_(H);
}

int seqcast_recurrent_forward(const seqcast_recurrent_forward_args *a) {
    if (!a || !sizes_ok_(a->cell, a->T, a->B, a->I, a->H) || !a->x || !a->w_ih || !a->w_hh ||
        !a->b_ih || !a->hT || (!a->xh && !a->hs) || (a->xh && a->cell != SEQCAST_RNN_TANH && !a->act))
        return SEQCAST_BAD_ARGUMENT;
    const int T = (int)a->T, B = (int)a->B, I = (int)a->I, H = (int)a->H;
    const strides3 xs = strides_(a->x_strides);
    switch (a->cell) {
    case SEQCAST_RNN_TANH:
        return rnn_forward_(T, B, I, H, a->x, xs, a->w_ih, a->w_hh, a->b_ih, a->b_hh, a->h0, a->hs,
                            a->hT, a->xh);
    case SEQCAST_GRU:
        if (!a->b_hh) return SEQCAST_BAD_ARGUMENT;
        return gru_forward_(T, B, I, H, a->x, xs, a->w_ih, a->w_hh, a->b_ih, a->b_hh, a->h0, a->hs,
                            a->hT, a->xh, a->act);
    case SEQCAST_LN_RNN_TANH:
        if (!a->gamma || !a->beta) return SEQCAST_BAD_ARGUMENT;
        return ln_rnn_forward_(T, B, I, H, a->x, xs, a->w_ih, a->w_hh, a->b_ih, a->gamma, a->beta,
                               (float)a->eps, a->h0, a->hs, a->hT, a->xh, a->act);
    default: /* the LSTMs */
        if (!a->cT || (a->xh && !a->cs) || (a->cell == SEQCAST_PEEPHOLE_LSTM && !a->w_ch))
            return SEQCAST_BAD_ARGUMENT;
        return lstm_forward_entry_(a);
    }
}

int seqcast_recurrent_backward(const seqcast_recurrent_backward_args *a) {
    if (!a || !sizes_ok_(a->cell, a->T, a->B, a->I, a->H) || !a->w_ih || !a->w_hh || !a->xh ||
        !a->dw_ih || !a->dw_hh || !a->db_ih || (a->cell != SEQCAST_RNN_TANH && !a->act))
        return SEQCAST_BAD_ARGUMENT;
    const int T = (int)a->T, B = (int)a->B, I = (int)a->I, H = (int)a->H;
    const strides3 dys = strides_(a->dy_strides), dxs = strides_(a->dx_strides);
    switch (a->cell) {
    case SEQCAST_RNN_TANH:
        return rnn_backward_(T, B, I, H, a->dy, dys, a->dhT, a->w_ih, a->w_hh, a->xh, a->dw_ih,
                             a->dw_hh, a->db_ih, a->dx, dxs, a->dh0);
    case SEQCAST_GRU:
        if (!a->db_hh) return SEQCAST_BAD_ARGUMENT;
        return gru_backward_(T, B, I, H, a->dy, dys, a->dhT, a->w_ih, a->w_hh, a->xh, a->act,
                             a->dw_ih, a->dw_hh, a->db_ih, a->db_hh, a->dx, dxs, a->dh0);
    case SEQCAST_LN_RNN_TANH:
        if (!a->gamma || !a->dgamma || !a->dbeta) return SEQCAST_BAD_ARGUMENT;
        return ln_rnn_backward_(T, B, I, H, a->dy, dys, a->dhT, a->w_ih, a->w_hh, a->gamma, a->xh,
                                a->act, a->dw_ih, a->dw_hh, a->db_ih, a->dgamma, a->dbeta, a->dx,
                                dxs, a->dh0);
    default:
        if (!a->cs || (a->cell == SEQCAST_PEEPHOLE_LSTM && !a->w_ch)) return SEQCAST_BAD_ARGUMENT;
        return lstm_backward_entry_(a);
    }
}
