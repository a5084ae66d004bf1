"""BPTT kernels for the chapter's own cells on the CPU, the fallback of their C kernels
(``seqcast.backends.native``) where no C compiler is found: the layer-norm
SimpleRNN and the peephole LSTM, built like the stock cells' kernels in ``kernels.py``
(input projections and weight gradients as single matrix products, the time loops in
TorchScript with the backward pass written out). They equal the cells' own ``step`` to
float precision (tests/test_kernels.py).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .rnn import _float32, _project, _script, _weight_grads


def _ln_rnn_forward(p: Tensor, h: Tensor, w_t: Tensor, gamma: Tensor, beta: Tensor, eps: float):
    # The chapter's LNSimpleRNNCell: h_t = tanh(LN(p_t + h_{t-1} W_hh^T)). Keeps each step's
    # pre-activation, mean and 1/std for the backward pass.
    # p is overwritten in place with the pre-activations.
    T, H = p.shape[0], p.shape[2]
    hs = torch.empty_like(p)
    p_l, h_l = p.unbind(0), hs.unbind(0)
    means: list[Tensor] = []
    rstds: list[Tensor] = []
    for t in range(T):
        a = p_l[t].addmm_(h, w_t)
        normed, mean, rstd = torch.native_layer_norm(a, [H], gamma, beta, eps)
        means.append(mean)
        rstds.append(rstd)
        h = torch.tanh(normed, out=h_l[t])
    return hs, h, p, torch.stack(means), torch.stack(rstds)


def _ln_rnn_backward(dy: Tensor, dtanh: Tensor, dh: Tensor, pre: Tensor, mean: Tensor,
                     rstd: Tensor, gamma: Tensor, beta: Tensor, w_hh: Tensor):
    # Returns d(pre-activation) (T, B, H), d(layer-norm output) (T, B, H) and d(h0).
    T, H = dy.shape[0], dy.shape[2]
    dln = dy * dtanh  # plus dh_t tanh'_t, added step by step
    dln_l, dt_l, pre_l = dln.unbind(0), dtanh.unbind(0), pre.unbind(0)
    mean_l, rstd_l = mean.unbind(0), rstd.unbind(0)
    dpres: list[Tensor] = []
    for t in range(T - 1, -1, -1):
        d = torch.addcmul(dln_l[t], dh, dt_l[t], out=dln_l[t])
        grads = torch.ops.aten.native_layer_norm_backward(
            d, pre_l[t], [H], mean_l[t], rstd_l[t], gamma, beta, [True, False, False])
        dpre = grads[0]
        assert dpre is not None
        dpres.append(dpre)
        dh = torch.mm(dpre, w_hh)
    dpres.reverse()
    return torch.stack(dpres), dln, dh


def _peephole_forward(p: Tensor, h: Tensor, c: Tensor, w_t: Tensor, w_ch: Tensor):
    # The peephole LSTM (Gers and Schmidhuber 2000): gates i, f see c_{t-1}, gate o sees c_t.
    # p (T, B, 4H) input projection plus bias; w_t (H, 4H) = W_hh^T; w_ch (3, H).
    T, B, H = p.shape[0], p.shape[1], h.shape[1]
    z = torch.empty_like(p)
    act = torch.empty(4, T, B, H, dtype=p.dtype, device=p.device)  # i, f, g, o
    cs, tcs, hs = torch.empty_like(act[0]), torch.empty_like(act[0]), torch.empty_like(act[0])
    w_ci, w_cf, w_co = w_ch[0], w_ch[1], w_ch[2]
    p_l, z_l = p.unbind(0), z.unbind(0)
    i_l, f_l, g_l, o_l = act[0].unbind(0), act[1].unbind(0), act[2].unbind(0), act[3].unbind(0)
    c_l, tc_l, h_l = cs.unbind(0), tcs.unbind(0), hs.unbind(0)
    for t in range(T):
        zt = torch.addmm(p_l[t], h, w_t, out=z_l[t])
        i = torch.sigmoid(torch.addcmul(zt[:, :H], c, w_ci), out=i_l[t])
        f = torch.sigmoid(torch.addcmul(zt[:, H : 2 * H], c, w_cf), out=f_l[t])
        g = torch.tanh(zt[:, 2 * H : 3 * H], out=g_l[t])
        c = torch.addcmul(f * c, i, g, out=c_l[t])
        o = torch.sigmoid(torch.addcmul(zt[:, 3 * H :], c, w_co), out=o_l[t])
        h = torch.mul(o, torch.tanh(c, out=tc_l[t]), out=h_l[t])
    return hs, h, c, act, cs, tcs


def _peephole_backward(dy: Tensor, dh: Tensor, dc: Tensor, a_o: Tensor, a_c: Tensor,
                       a_i: Tensor, a_f: Tensor, a_g: Tensor, a_p: Tensor, w_hh: Tensor):
    # Factors (T, B, H) made before the loop: a_o = tanh(c) o(1-o); a_c = o (1-tanh(c)^2)
    # + a_o w_co; a_i = g i(1-i); a_f = c_prev f(1-f); a_g = i (1-g^2); a_p = f + a_i w_ci
    # + a_f w_cf. One step, with dh_t = dh + dy_t:
    #   dz_o = dh_t a_o;  dc_t = dc + dh_t a_c;  dz_i, dz_f, dz_g = dc_t a_i, dc_t a_f, dc_t a_g
    #   dc_prev = dc_t a_p;  dh_prev = [dz_i, dz_f, dz_g, dz_o] W_hh
    T, B, H = dy.shape[0], dy.shape[1], dy.shape[2]
    dz = torch.empty(T, B, 4 * H, dtype=dy.dtype, device=dy.device)
    dy_l, dz_l = dy.unbind(0), dz.unbind(0)
    ao_l, ac_l, ap_l = a_o.unbind(0), a_c.unbind(0), a_p.unbind(0)
    ai_l, af_l, ag_l = a_i.unbind(0), a_f.unbind(0), a_g.unbind(0)
    for t in range(T - 1, -1, -1):
        dht = dh + dy_l[t]
        dzt = dz_l[t]
        torch.mul(dht, ao_l[t], out=dzt[:, 3 * H :])
        dct = torch.addcmul(dc, dht, ac_l[t])
        torch.mul(dct, ai_l[t], out=dzt[:, :H])
        torch.mul(dct, af_l[t], out=dzt[:, H : 2 * H])
        torch.mul(dct, ag_l[t], out=dzt[:, 2 * H : 3 * H])
        dc = dct * ap_l[t]
        dh = torch.mm(dzt, w_hh)
    return dz, dh, dc


_ln_rnn_forward_s, _ln_rnn_backward_s = _script(_ln_rnn_forward), _script(_ln_rnn_backward)
_peephole_forward_s, _peephole_backward_s = _script(_peephole_forward), _script(_peephole_backward)


class _LNRNNTanh(torch.autograd.Function):
    @staticmethod
    @_float32
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, gamma, beta, eps):
        hs, h, pre, mean, rstd = _ln_rnn_forward_s(_project(x, w_ih, b_ih), h0, w_hh.t(), gamma,
                                                   beta, eps)
        ctx.save_for_backward(x, h0, w_ih, w_hh, gamma, beta, hs, pre, mean, rstd)
        return hs.transpose(0, 1), h

    @staticmethod
    def backward(ctx, dy, dh):
        x, h0, w_ih, w_hh, gamma, beta, hs, pre, mean, rstd = ctx.saved_tensors
        dpre, dln, dh0 = _ln_rnn_backward_s(dy.transpose(0, 1), 1 - hs * hs, dh, pre, mean, rstd,
                                            gamma, beta, w_hh)
        xhat = (pre - mean) * rstd
        d_gamma, d_beta = (dln * xhat).sum((0, 1)), dln.sum((0, 1))
        hprev = torch.cat([h0.unsqueeze(0), hs[:-1]])
        d_w_ih, d_w_hh, d_b, dx = _weight_grads(dpre, x, hprev, w_ih, ctx.needs_input_grad[0])
        return dx, dh0, d_w_ih, d_w_hh, d_b, d_gamma, d_beta, None


def ln_rnn_tanh_sequence(x, h0, w_ih, w_hh, b_ih, gamma, beta, eps: float) -> tuple[Tensor, Tensor]:
    """The layer-norm SimpleRNN over (B, T, I) from h0 (B, H): h_t = tanh(LN(W_ih x_t + b_ih
    + W_hh h_{t-1})), LN with gain ``gamma``, offset ``beta`` and ``eps``. Outputs (B, T, H),
    final state (B, H)."""
    return _LNRNNTanh.apply(x, h0, w_ih, w_hh, b_ih, gamma, beta, eps)


class _PeepholeLSTM(torch.autograd.Function):
    @staticmethod
    @_float32
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, w_ch):
        hs, h, c, act, cs, tcs = _peephole_forward_s(_project(x, w_ih, b_ih), h0, c0, w_hh.t(), w_ch)
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, w_ch, hs, act, cs, tcs)
        return hs.transpose(0, 1), h, c

    @staticmethod
    def backward(ctx, dy, dh, dc):
        x, h0, c0, w_ih, w_hh, w_ch, hs, act, cs, tcs = ctx.saved_tensors
        i, f, g, o = act.unbind(0)
        c_prev = torch.cat([c0.unsqueeze(0), cs[:-1]])
        a_o = tcs * o * (1 - o)
        a_c = o * (1 - tcs * tcs) + a_o * w_ch[2]
        a_i, a_f, a_g = g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g)
        a_p = f + a_i * w_ch[0] + a_f * w_ch[1]
        dz, dh0, dc0 = _peephole_backward_s(dy.transpose(0, 1), dh, dc, a_o, a_c, a_i, a_f, a_g,
                                            a_p, w_hh)
        H = h0.shape[1]
        d_w_ch = torch.stack([(dz[..., :H] * c_prev).sum((0, 1)),
                              (dz[..., H : 2 * H] * c_prev).sum((0, 1)),
                              (dz[..., 3 * H :] * cs).sum((0, 1))])
        hprev = torch.cat([h0.unsqueeze(0), hs[:-1]])
        d_w_ih, d_w_hh, d_b, dx = _weight_grads(dz, x, hprev, w_ih, ctx.needs_input_grad[0])
        return dx, dh0, dc0, d_w_ih, d_w_hh, d_b, d_w_ch


def peephole_lstm_sequence(x, state, w_ih, w_hh, b_ih, w_ch) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """The peephole LSTM over (B, T, I) from ``state`` (h0, c0), each (B, H): outputs
    (B, T, H) and the final (h, c). ``w_ch`` (3, H) holds the peepholes w_ci, w_cf, w_co."""
    outputs, h, c = _PeepholeLSTM.apply(x, state[0], state[1], w_ih, w_hh, b_ih, w_ch)
    return outputs, (h, c)
