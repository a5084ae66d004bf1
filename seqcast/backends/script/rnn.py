"""Sequence kernels for the stock cells with hand-written backpropagation through time, in
TorchScript: on the CPU, the fallback of the C kernels (``seqcast.backends.native``) where no C
compiler is found.

PyTorch's fused CPU kernels for ``rnn_tanh`` and ``gru`` spend most of a small model's
training step in per-step overhead. Here the input projection of every step is one matrix
product before the time loop, the loops are TorchScript functions (no Python per step), and
the backward pass is written out (one BPTT loop, then one matrix product per weight), so a
step costs a handful of small kernels. ``rnn_tanh_sequence`` and ``gru_sequence`` equal
``torch.rnn_tanh`` / ``torch.gru`` to float precision (tests/test_kernels.py).

Shapes: ``x`` (B, T, I), ``h0`` (B, H), weights in torch.nn's layout. Outputs (B, T, H) and
the final state (B, H).
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

# The loops index lists of per-step views made once with ``unbind`` (slicing inside the loop
# would dispatch several view ops per step), and write results in place with ``out=``.


def _rnn_forward(p: Tensor, h: Tensor, w_t: Tensor) -> tuple[Tensor, Tensor]:
    # p (T, B, H): input projection plus biases, overwritten step by step with the outputs;
    # w_t (H, H) = W_hh^T
    p_l = p.unbind(0)
    for t in range(p.shape[0]):
        h = p_l[t].addmm_(h, w_t).tanh_()
    return p, h


def _rnn_backward(dy: Tensor, dtanh: Tensor, dh: Tensor, w_hh: Tensor) -> tuple[Tensor, Tensor]:
    # dy (T, B, H) gradient of the outputs; returns d(pre-activation) (T, B, H) and d(h0).
    # d_t = (dh + dy_t) tanh'_t = dy_t tanh'_t + dh tanh'_t: the first term for all t at once
    dpre = dy * dtanh
    dp_l, dt_l = dpre.unbind(0), dtanh.unbind(0)
    for t in range(dy.shape[0] - 1, -1, -1):
        d = torch.addcmul(dp_l[t], dh, dt_l[t], out=dp_l[t])
        dh = torch.mm(d, w_hh)
    return dpre, dh


def _gru_forward(p: Tensor, h: Tensor, w_t: Tensor, b_hh: Tensor):
    # p (T, B, 3H) = x W_ih^T + b_ih; w_t (H, 3H) = W_hh^T. Gates r, z, n as in torch.nn.GRU.
    T, B, H = p.shape[0], p.shape[1], h.shape[1]
    hs = torch.empty(T, B, H, dtype=p.dtype, device=p.device)
    g_all = torch.empty(T, B, 3 * H, dtype=p.dtype, device=p.device)  # recurrent projections W_hh h + b_hh
    rz_all = torch.empty(T, B, 2 * H, dtype=p.dtype, device=p.device)
    n_all = torch.empty(T, B, H, dtype=p.dtype, device=p.device)
    p_rz, p_n = p[:, :, : 2 * H].unbind(0), p[:, :, 2 * H :].unbind(0)
    g_l, g_rz, g_n = g_all.unbind(0), g_all[:, :, : 2 * H].unbind(0), g_all[:, :, 2 * H :].unbind(0)
    rz_l, r_l, z_l = rz_all.unbind(0), rz_all[:, :, :H].unbind(0), rz_all[:, :, H:].unbind(0)
    n_l, h_l = n_all.unbind(0), hs.unbind(0)
    for t in range(T):
        torch.addmm(b_hh, h, w_t, out=g_l[t])
        torch.sigmoid(p_rz[t] + g_rz[t], out=rz_l[t])
        n = torch.tanh(torch.addcmul(p_n[t], r_l[t], g_n[t]), out=n_l[t])  # reset after W_hn h
        h = torch.lerp(n, h, z_l[t], out=h_l[t])  # (1 - z) n + z h
    return hs, h, rz_all, n_all, g_all[:, :, 2 * H :]


def _gru_backward(dy: Tensor, dh: Tensor, a: Tensor, bz: Tensor, c: Tensor, r: Tensor,
                  z: Tensor, w_hh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    # Precomputed factors (T, B, H): a = (1-z)(1-n^2), bz = (h_prev-n) z(1-z), c = gn r(1-r).
    T, H = dy.shape[0], dy.shape[2]
    dg = torch.empty(T, dy.shape[1], 3 * H, dtype=dy.dtype, device=dy.device)  # d(recurrent projection)
    dpn = torch.empty_like(dy)  # d(input projection of n)
    dg_l, dg_r = dg.unbind(0), dg[:, :, :H].unbind(0)
    dg_z, dg_n = dg[:, :, H : 2 * H].unbind(0), dg[:, :, 2 * H :].unbind(0)
    dy_l, dpn_l, a_l, bz_l = dy.unbind(0), dpn.unbind(0), a.unbind(0), bz.unbind(0)
    c_l, r_l, z_l = c.unbind(0), r.unbind(0), z.unbind(0)
    for t in range(T - 1, -1, -1):
        d = dh + dy_l[t]
        dn = torch.mul(d, a_l[t], out=dpn_l[t])
        torch.mul(dn, c_l[t], out=dg_r[t])
        torch.mul(d, bz_l[t], out=dg_z[t])
        torch.mul(dn, r_l[t], out=dg_n[t])
        dh = torch.addmm(d * z_l[t], dg_l[t], w_hh)
    return dg, dpn, dh


def _script(fn):
    """TorchScript ``fn`` when possible; the plain function is a correct (slower) fallback."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.jit.script(fn)
    except Exception:  # scripting unavailable (e.g. no sources): keep the eager loop
        return fn


_rnn_forward_s, _rnn_backward_s = _script(_rnn_forward), _script(_rnn_backward)
_gru_forward_s, _gru_backward_s = _script(_gru_forward), _script(_gru_backward)


def _time_major(x: Tensor) -> Tensor:
    """(B, T, I) -> (T*B, I) rows in time-major order (a copy of the inputs, the narrowest
    tensor here, so that nothing G wide is ever transposed)."""
    return x.transpose(0, 1).reshape(x.shape[0] * x.shape[1], -1)


def _project(x: Tensor, w_ih: Tensor, bias: Tensor) -> Tensor:
    """All steps' input projections in one product: (B, T, I) -> (T, B, G)."""
    B, T, _ = x.shape
    return torch.addmm(bias, _time_major(x), w_ih.t()).view(T, B, -1)


def _weight_grads(dpre: Tensor, x: Tensor, hprev: Tensor | None, w_ih: Tensor, need_x: bool):
    """From d(pre-activations) (T, B, G): grads of W_ih, W_hh (None without ``hprev``), the
    bias, and x. Both weight gradients come from one matrix product, [x_t, h_{t-1}]^T dpre."""
    T, B, G = dpre.shape
    I = x.shape[2]
    flat = dpre.reshape(T * B, G)
    xt = x.transpose(0, 1)
    rows = (torch.cat([xt, hprev], 2) if hprev is not None else xt).reshape(T * B, -1)
    d_w = torch.mm(rows.t(), flat).t()  # (G, I + H); this order is the faster product here
    d_w_ih, d_w_hh = d_w[:, :I], (d_w[:, I:] if hprev is not None else None)
    d_b = flat.sum(0)
    # (B, T, I) as a view of time-major rows: the layer below transposes it back for free
    dx = (flat @ w_ih).view(T, B, -1).transpose(0, 1) if need_x else None
    return d_w_ih, d_w_hh, d_b, dx


# Under autocast (precision="bf16") the kernels run in float32: they are written for it.
_float32 = torch.amp.custom_fwd(device_type="cpu", cast_inputs=torch.float32)


class _RNNTanh(torch.autograd.Function):
    @staticmethod
    @_float32
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        hs, h = _rnn_forward_s(_project(x, w_ih, b_ih + b_hh), h0, w_hh.t())
        ctx.save_for_backward(x, h0, w_ih, w_hh, hs)
        return hs.transpose(0, 1), h

    @staticmethod
    def backward(ctx, dy, dh):
        x, h0, w_ih, w_hh, hs = ctx.saved_tensors
        dpre, dh0 = _rnn_backward_s(dy.transpose(0, 1), 1 - hs * hs, dh, w_hh)
        hprev = torch.cat([h0.unsqueeze(0), hs[:-1]])
        d_w_ih, d_w_hh, d_b, dx = _weight_grads(dpre, x, hprev, w_ih, ctx.needs_input_grad[0])
        return dx, dh0, d_w_ih, d_w_hh, d_b, (d_b if ctx.needs_input_grad[5] else None)


class _GRU(torch.autograd.Function):
    @staticmethod
    @_float32
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        hs, h, rz, n, gn = _gru_forward_s(_project(x, w_ih, b_ih), h0, w_hh.t(), b_hh)
        ctx.save_for_backward(x, h0, w_ih, w_hh, hs, rz, n, gn)
        return hs.transpose(0, 1), h

    @staticmethod
    def backward(ctx, dy, dh):
        x, h0, w_ih, w_hh, hs, rz, n, gn = ctx.saved_tensors
        H = h0.shape[1]
        r, z = rz[..., :H], rz[..., H:]
        hprev = torch.cat([h0.unsqueeze(0), hs[:-1]])
        a = (1 - z) * (1 - n * n)
        bz = (hprev - n) * z * (1 - z)
        c = gn * r * (1 - r)
        dg, dpn, dh0 = _gru_backward_s(dy.transpose(0, 1), dh, a, bz, c, r, z, w_hh)
        dp = torch.cat([dg[..., : 2 * H], dpn], dim=-1)  # input side: n's gradient before r
        T, B, G = dg.shape
        flat = dg.reshape(T * B, G)
        d_w_hh = flat.t() @ hprev.reshape(T * B, H)
        d_b_hh = flat.sum(0)
        d_w_ih, _, d_b_ih, dx = _weight_grads(dp, x, None, w_ih, ctx.needs_input_grad[0])
        return dx, dh0, d_w_ih, d_w_hh, d_b_ih, d_b_hh


def rnn_tanh_sequence(x, h0, w_ih, w_hh, b_ih, b_hh) -> tuple[Tensor, Tensor]:
    """Elman RNN over (B, T, I) from h0 (B, H): outputs (B, T, H), final state (B, H)."""
    return _RNNTanh.apply(x, h0, w_ih, w_hh, b_ih, b_hh)


def gru_sequence(x, h0, w_ih, w_hh, b_ih, b_hh) -> tuple[Tensor, Tensor]:
    """Reset-after GRU over (B, T, I) from h0 (B, H): outputs (B, T, H), final state (B, H)."""
    return _GRU.apply(x, h0, w_ih, w_hh, b_ih, b_hh)
