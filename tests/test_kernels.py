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
