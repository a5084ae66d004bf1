import pytest
import torch

from seqcast.nn.kernels import gru_sequence, rnn_tanh_sequence

CASES = {"simple": (torch.nn.RNN, rnn_tanh_sequence), "gru": (torch.nn.GRU, gru_sequence)}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("use", ["outputs", "state"])
def test_kernel_equals_torch_nn_values_and_gradients(name, use):
    torch.manual_seed(0)
    ref_cls, kernel = CASES[name]
    ref = ref_cls(3, 7, batch_first=True)
    with torch.no_grad():
        for p in ref.parameters():
            p.uniform_(-0.5, 0.5)  # non-zero biases so every gradient path is exercised
    x = torch.randn(5, 50, 3, requires_grad=True)
    h0 = torch.randn(5, 7, requires_grad=True)
    w = torch.randn(5, 50, 7)

    def loss(out, h):
        return (out * w).sum() if use == "outputs" else (h * w[:, 0]).sum()

    out_ref, h_ref = ref(x, h0.unsqueeze(0))
    loss(out_ref, h_ref[0]).backward()
    grads_ref = [x.grad.clone(), h0.grad.clone()] + [p.grad.clone() for p in ref.parameters()]
    x.grad = h0.grad = None
    params = [p.detach().clone().requires_grad_() for p in ref.parameters()]
    out, h = kernel(x, h0, *params)
    assert (out - out_ref).abs().max() <= 1e-5 and (h - h_ref[0]).abs().max() <= 1e-5
    loss(out, h).backward()
    grads = [x.grad, h0.grad] + [p.grad for p in params]
    for got, want in zip(grads, grads_ref):
        assert (got - want).abs().max() <= 1e-4 * max(1.0, want.abs().max().item())


@pytest.mark.parametrize("name", ["ln_simple", "peephole"])
@pytest.mark.parametrize("use", ["outputs", "state"])
def test_chapter_cell_kernels_equal_the_cell_step_values_and_gradients(name, use):
    from seqcast.nn import cell_kernels as kernels
    from seqcast.nn.cells import make_cell
    from seqcast.nn.recurrent import Recurrent

    for fn in (kernels._ln_rnn_forward_s, kernels._ln_rnn_backward_s,
               kernels._peephole_forward_s, kernels._peephole_backward_s):
        assert isinstance(fn, torch.jit.ScriptFunction)  # compiled, not the eager fallback
    torch.manual_seed(0)
    cell = make_cell(name, 3, 7)
    with torch.no_grad():
        for p in cell.parameters():
            p.add_(torch.empty_like(p).uniform_(-0.3, 0.3))  # every parameter away from its init
    fast, slow = Recurrent(cell), Recurrent(cell, backend="python")
    x = torch.randn(5, 50, 3, requires_grad=True)
    h0 = torch.randn(5, 7, requires_grad=True)
    c0 = torch.randn(5, 7, requires_grad=True)
    state, inputs = ((h0, c0), [x, h0, c0]) if name == "peephole" else (h0, [x, h0])
    w, wc = torch.randn(5, 50, 7), torch.randn(5, 7)
    results = []
    for layer in (slow, fast):
        out, last = layer(x, state)
        h, c = last if name == "peephole" else (last, None)
        loss = (out * w).sum() if use == "outputs" else (h * w[:, 0]).sum()
        if c is not None and use == "state":
            loss = loss + (c * wc).sum()
        grads = torch.autograd.grad(loss, [*inputs, *cell.parameters()])
        results.append((out, h, grads))
    (out_s, h_s, g_s), (out_f, h_f, g_f) = results
    assert (out_f - out_s).abs().max() <= 1e-5 and (h_f - h_s).abs().max() <= 1e-5
    for got, want in zip(g_f, g_s, strict=True):
        assert (got - want).abs().max() <= 1e-4 * max(1.0, want.abs().max().item())
