"""WaveNet generation as one persistent GPU kernel (Triton), for the full ``WaveNet``.

Cached generation (Paine et al. 2016) needs O(layers) work per sample, but done as PyTorch
ops it is ~8 kernels per layer per sample, and at batch 1 each costs far more than its
arithmetic. Here one program per block of streams runs every sample of the forecast: all
layers of one sample, the output head, and the feedback of the new value into the next
sample, with the queues of every dilated layer in one global buffer. One launch per
``generate`` call; the weights (a few MB) stay in the L2 cache.

Either head: the dense head feeds back its first output; the mu-law head's logits go
through softmax(logits / temperature), and the class drawn at the caller's uniform (the
first whose cumulative probability exceeds it, as ``seqcast.nn.mulaw.sample_mulaw`` draws)
is fed back decoded, so the kernel draws the same classes as the eager steps from the same
uniforms (but for a uniform within float rounding of a class boundary). It runs float32
WaveNets with one input channel, kernel size 2, residual channels
equal to skip channels and a power of two from 16 to 128, and a mu-law head of a power of
two from 16 to 1024 classes (``reason`` says which condition fails); anything else takes
the next implementation of "wavenet_generate".
"""

from __future__ import annotations

import torch
from torch import Tensor

try:  # Triton ships with CUDA builds of PyTorch; a CPU build has none
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the installation
    triton = None

BLOCK_B = 16  # streams per program: the smallest tile tl.dot accepts


def tf32_allowed() -> bool:
    """Whether PyTorch may use TF32 for float32 matrix products: the kernel's fast mode
    follows ``torch.set_float32_matmul_precision`` ("high" or "medium": TF32)."""
    return torch.get_float32_matmul_precision() != "highest"


def reason(g) -> str | None:
    """Why the kernel cannot run ``g`` (a ``seqcast.nn.wavenet.Generation``), or None.
    It runs where PyTorch may use TF32 (``tf32_allowed``)."""
    if triton is None:
        return "Triton is not installed"
    if not g.first.is_cuda:
        return "the Triton kernel runs on a CUDA device"
    if not tf32_allowed():
        return 'it runs with TF32 products: torch.set_float32_matmul_precision("high")'
    if g.head not in ("dense", "mulaw"):
        return f"the Triton kernel has no {g.head!r} head"
    if g.head == "mulaw" and g.uniforms is None:
        return "the Triton kernel's mu-law draws need their uniforms"
    if g.first.dtype != torch.float32 or g.input_conv.weight.dtype != torch.float32:
        return "the Triton kernel is float32"
    r = g.layers[0].channels
    if not (g.input_conv.in_channels == 1 and g.input_conv.kernel_size == 2
            and all(layer.conv.kernel_size == 2 for layer in g.layers)
            and g.layers[0].out.out_features == 2 * r and r in (16, 32, 64, 128)):
        return ("the Triton kernel needs one input channel, kernel size 2 and as many skip as "
                "residual channels, a power of two from 16 to 128")
    lin1, lin2 = g.post[1], g.post[3]
    if lin1.in_features != r or lin1.out_features != r:
        return "the Triton kernel needs the head's hidden layer as wide as the residual channels"
    q = lin2.out_features
    if g.head == "mulaw" and not (16 <= q <= 1024 and q & (q - 1) == 0):
        return "the Triton kernel needs a mu-law head of a power of two from 16 to 1024 classes"
    return None


def pack(g) -> dict[str, Tensor]:
    """The weights laid out for the kernel, and the queues' state in one buffer."""
    r, layers, queues = g.layers[0].channels, g.layers, g.queues
    conv_w = torch.stack([q.weight_t for q in queues[1:]])  # (L, 2R: tap|current, 2R: f|g)
    out_w = torch.stack([layer.out.weight.detach() for layer in layers])  # (L, 2R: res|skip, R)
    out_b = torch.stack([layer.out.bias.detach() for layer in layers])
    conv_b = torch.stack([q.bias.detach() for q in queues[1:]])  # (L, 2R)
    lin1, lin2 = g.post[1], g.post[3]
    if g.head == "mulaw":  # every class's logit: (R, Q), and the amplitude of each class
        w_post2, b_post2 = lin2.weight.detach().t(), lin2.bias.detach()
    else:  # the first output only
        w_post2, b_post2 = lin2.weight.detach()[0], lin2.bias.detach()[:1]
    f32 = {
        "w_in": queues[0].weight_t, "b_in": queues[0].bias.detach(),  # (2, R): x_{t-1}, x_t
        "w_tap_f": conv_w[:, :r, :r], "w_tap_g": conv_w[:, :r, r:],
        "w_cur_f": conv_w[:, r:, :r], "w_cur_g": conv_w[:, r:, r:],
        "b_f": conv_b[:, :r], "b_g": conv_b[:, r:],
        "w_res": out_w[:, :r].transpose(1, 2), "b_res": out_b[:, :r],
        "w_skip": out_w[:, r:].transpose(1, 2), "b_skip": out_b[:, r:].sum(0),
        "w_post1": lin1.weight.detach().t(), "b_post1": lin1.bias.detach(),
        "w_post2": w_post2, "b_post2": b_post2,
        # every dilated layer's ring buffer, (B, sum of dilations, R); slot of step s: s % d
        "queues": torch.cat([q.buffer for q in queues[1:]], dim=1),
        "x_prev": queues[0].buffer[:, 0, 0],
    }
    packed = {k: v.float().contiguous() for k, v in f32.items()}
    sizes = [q.size for q in queues[1:]]
    packed["dilations"] = torch.tensor(sizes, dtype=torch.int32, device=conv_w.device)
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    packed["offsets"] = torch.tensor(offsets, dtype=torch.int32, device=conv_w.device)
    return packed


def generate(g, first: Tensor, precision: str | None = None, stages: int = 1,
             num_warps: int = 4) -> Tensor:
    """Continue from the queues' state: ``first`` (B, 1) is the first new value (already
    forecast, or for the mu-law head drawn at ``g.uniforms[:, 0]``); returns it and
    ``steps - 1`` more, (B, steps). The mu-law head draws value i at ``g.uniforms[:, i]``
    with ``g.temperature``.

    ``precision`` is tl.dot's: "tf32" (tensor cores, ~1e-3 relative error per product) or
    "ieee" (float32 throughout, ~30x slower); by default "tf32" where PyTorch's float32
    matmul precision allows TF32 (``tf32_allowed``), else "ieee". ``stages`` > 1 lets
    Triton prefetch the next layer's weights."""
    precision = precision or ("tf32" if tf32_allowed() else "ieee")
    p = pack(g)
    queues, steps = g.queues, g.steps
    batch, r = first.shape[0], g.layers[0].channels
    out = torch.empty(batch, steps, device=first.device, dtype=torch.float32)
    out[:, 0] = first[:, 0]
    mulaw = g.head == "mulaw"
    classes = g.post[3].out_features if mulaw else 1
    if mulaw:
        from ...nn.mulaw import mu_law_decode

        uniforms = g.uniforms.float().contiguous()
        if tuple(uniforms.shape) != (batch, steps) or uniforms.device != first.device:
            raise ValueError(f"uniforms must be ({batch}, {steps}) on {first.device}, got "
                             f"{tuple(uniforms.shape)} on {uniforms.device}")
        table = mu_law_decode(torch.arange(classes, device=first.device), classes)
    else:
        uniforms = table = out  # not read
    if steps > 1:
        grid = (triton.cdiv(batch, BLOCK_B),)
        _steps_kernel[grid](
            out, p["x_prev"], first[:, 0].float().contiguous(), p["queues"], p["dilations"],
            p["offsets"], p["w_in"], p["b_in"], p["w_tap_f"], p["w_tap_g"], p["w_cur_f"],
            p["w_cur_g"], p["b_f"], p["b_g"], p["w_res"], p["b_res"], p["w_skip"], p["b_skip"],
            p["w_post1"], p["b_post1"], p["w_post2"], p["b_post2"], uniforms, table,
            float(g.temperature), batch, steps, queues[0].t, len(g.layers), p["queues"].shape[1],
            R=r, BLOCK_B=BLOCK_B, MULAW=mulaw, Q=classes, PRECISION=precision, STAGES=stages,
            num_warps=num_warps)
    return out


if triton is not None:

    @triton.jit
    def _tanh(x):
        return 2.0 * tl.sigmoid(2.0 * x) - 1.0

    # sizes and counts vary per call: one compiled kernel for all of them
    @triton.jit(do_not_specialize=["B", "steps", "t0", "n_layers", "n_slots"])
    def _steps_kernel(out_ptr, x_prev_ptr, x_first_ptr, queue_ptr, dil_ptr, off_ptr,
                      w_in_ptr, b_in_ptr, w_tap_f_ptr, w_tap_g_ptr, w_cur_f_ptr, w_cur_g_ptr,
                      b_f_ptr, b_g_ptr, w_res_ptr, b_res_ptr, w_skip_ptr, b_skip_ptr,
                      w_post1_ptr, b_post1_ptr, w_post2_ptr, b_post2_ptr, u_ptr, table_ptr,
                      temperature, B, steps, t0, n_layers, n_slots,
                      R: tl.constexpr, BLOCK_B: tl.constexpr, MULAW: tl.constexpr,
                      Q: tl.constexpr, PRECISION: tl.constexpr, STAGES: tl.constexpr):
        rows = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)
        live = rows < B
        ch = tl.arange(0, R)
        square = ch[:, None] * R + ch[None, :]  # offsets of an (R, R) row-major matrix
        x_prev = tl.load(x_prev_ptr + rows, mask=live, other=0.0)
        x_cur = tl.load(x_first_ptr + rows, mask=live, other=0.0)
        w_in0 = tl.load(w_in_ptr + ch)[None, :]
        w_in1 = tl.load(w_in_ptr + R + ch)[None, :]
        b_in = tl.load(b_in_ptr + ch)[None, :]
        b_skip = tl.load(b_skip_ptr + ch)[None, :]
        w_post1 = tl.load(w_post1_ptr + square)
        b_post1 = tl.load(b_post1_ptr + ch)[None, :]
        if not MULAW:
            w_post2 = tl.load(w_post2_ptr + ch)[None, :]
            b_post2 = tl.load(b_post2_ptr)
        row_base = queue_ptr + rows[:, None].to(tl.int64) * (n_slots * R) + ch[None, :]
        live2 = live[:, None]
        for s in tl.range(1, steps):
            t = t0 + s - 1  # time step of x_cur
            h = x_prev[:, None] * w_in0 + x_cur[:, None] * w_in1 + b_in  # input conv, (BB, R)
            skip = tl.zeros((BLOCK_B, R), dtype=tl.float32)
            for layer in tl.range(0, n_layers, num_stages=STAGES):
                d = tl.load(dil_ptr + layer)
                slot = row_base + (tl.load(off_ptr + layer) + t % d) * R
                tap = tl.load(slot, mask=live2, other=0.0, cache_modifier=".cg")  # h_{t-d}
                tl.debug_barrier()  # every thread has read step t-d before it is replaced
                tl.store(slot, h, mask=live2)
                mat, vec = layer * R * R, layer * R
                f = (tl.dot(tap, tl.load(w_tap_f_ptr + mat + square), input_precision=PRECISION)
                     + tl.dot(h, tl.load(w_cur_f_ptr + mat + square), input_precision=PRECISION)
                     + tl.load(b_f_ptr + vec + ch)[None, :])
                g = (tl.dot(tap, tl.load(w_tap_g_ptr + mat + square), input_precision=PRECISION)
                     + tl.dot(h, tl.load(w_cur_g_ptr + mat + square), input_precision=PRECISION)
                     + tl.load(b_g_ptr + vec + ch)[None, :])
                a = _tanh(f) * tl.sigmoid(g)
                h = (h + tl.dot(a, tl.load(w_res_ptr + mat + square), input_precision=PRECISION)
                     + tl.load(b_res_ptr + vec + ch)[None, :])
                skip += tl.dot(a, tl.load(w_skip_ptr + mat + square), input_precision=PRECISION)
            z = tl.maximum(skip + b_skip, 0.0)
            z = tl.maximum(tl.dot(z, w_post1, input_precision=PRECISION) + b_post1, 0.0)
            if MULAW:
                # logits (BB, Q), their softmax at the temperature, and the class drawn at u:
                # the number of cumulative probabilities <= u (searchsorted, right=True)
                cls = tl.arange(0, Q)
                logits = (tl.dot(z, tl.load(w_post2_ptr + ch[:, None] * Q + cls[None, :]),
                                 input_precision=PRECISION)
                          + tl.load(b_post2_ptr + cls)[None, :]) / temperature
                e = tl.exp(logits - tl.max(logits, axis=1)[:, None])
                cdf = tl.cumsum(e / tl.sum(e, axis=1)[:, None], axis=1)
                u = tl.load(u_ptr + rows * steps + s, mask=live, other=0.0)
                k = tl.minimum(tl.sum((cdf <= u[:, None]).to(tl.int32), axis=1), Q - 1)
                value = tl.load(table_ptr + k)
            else:
                value = tl.sum(z * w_post2, axis=1) + b_post2
            tl.store(out_ptr + rows * steps + s, value, mask=live)
            x_prev = x_cur
            x_cur = value
