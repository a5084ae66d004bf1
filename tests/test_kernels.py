import ctypes

import pytest
import torch

from seqcast.backends.native import library, structs
from seqcast.backends.native import recurrent as native
from seqcast.backends.native.structs import Cell
from seqcast.backends.script.rnn import gru_sequence, rnn_tanh_sequence
from seqcast.nn.dispatch import select

needs_c = pytest.mark.skipif(library() is None, reason="no C compiler here")


def lstm_sequence(x, state, w_ih, w_hh, b_ih, b_hh=None, w_ch=None):
    """The C LSTM (the peephole one with ``w_ch``) as (outputs, (h, c))."""
    h0, c0 = (None, None) if state is None else state
    kind = Cell.LSTM if w_ch is None else Cell.PEEPHOLE_LSTM
    out, h, c = native.sequence(kind, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_ch)
    return out, (h, c)


def rnn_sequence(name, x, h0, w_ih, w_hh, b_ih, b_hh=None):
    """The C Elman RNN ("rnn_tanh") or GRU as (outputs, h)."""
    out, h, _ = native.sequence(Cell[name.upper()], x, h0, None, w_ih, w_hh, b_ih, b_hh)
    return out, h


def ln_rnn_sequence(x, h0, w_ih, w_hh, b_ih, gamma, beta, eps):
    out, h, _ = native.sequence(Cell.LN_RNN_TANH, x, h0, None, w_ih, w_hh, b_ih, None, None,
                                gamma, beta, eps)
    return out, h


def _chosen(layer, x) -> str:
    return select("recurrent", layer.backend, layer, x, None, None).name

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


@pytest.mark.parametrize("name", ["ln_simple", "ln_simple_c", "peephole", "peephole_c"])
@pytest.mark.parametrize("use", ["outputs", "state"])
def test_chapter_cell_kernels_equal_the_cell_step_values_and_gradients(name, use):
    from seqcast.backends.script import cells as kernels
    from seqcast.nn.cells import make_cell
    from seqcast.nn.recurrent import Recurrent

    backend = "native" if name.endswith("_c") else "script"  # the C kernel, or its fallback
    if backend == "native" and library() is None:
        pytest.skip("no C compiler here")
    name = name.removesuffix("_c")

    for fn in (kernels._ln_rnn_forward_s, kernels._ln_rnn_backward_s,
               kernels._peephole_forward_s, kernels._peephole_backward_s):
        assert isinstance(fn, torch.jit.ScriptFunction)  # compiled, not the eager fallback
    torch.manual_seed(0)
    cell = make_cell(name, 3, 7)
    with torch.no_grad():
        for p in cell.parameters():
            p.add_(torch.empty_like(p).uniform_(-0.3, 0.3))  # every parameter away from its init
    fast, slow = Recurrent(cell, backend=backend), Recurrent(cell, backend="python")
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


@needs_c
@pytest.mark.parametrize("hidden", [7, 16, 20])
@pytest.mark.parametrize("use", ["outputs", "state", "state_sum"])
def test_c_lstm_kernel_equals_torch_lstm_values_and_gradients(hidden, use):
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, hidden, batch_first=True)
    with torch.no_grad():
        for p in ref.parameters():
            p.uniform_(-0.5, 0.5)  # non-zero biases so every gradient path is exercised
    x = torch.randn(5, 40, 3, requires_grad=True)
    h0 = torch.randn(5, hidden, requires_grad=True)
    c0 = torch.randn(5, hidden, requires_grad=True)
    w, wh, wc = torch.randn(5, 40, hidden), torch.randn(5, hidden), torch.randn(5, hidden)

    def loss(out, h, c):
        if use == "state_sum":  # gradients that arrive as broadcast (stride 0) tensors
            return h.sum() + c.sum()
        return (out * w).sum() if use == "outputs" else (h * wh).sum() + (c * wc).sum()

    out_ref, (h_ref, c_ref) = ref(x, (h0.unsqueeze(0), c0.unsqueeze(0)))
    inputs = [x, h0, c0, *ref.parameters()]
    grads_ref = torch.autograd.grad(loss(out_ref, h_ref[0], c_ref[0]), inputs)
    out, (h, c) = lstm_sequence(x, (h0, c0), *ref.parameters())
    for got, want in ((out, out_ref), (h, h_ref[0]), (c, c_ref[0])):
        assert (got - want).abs().max() <= 1e-5
    grads = torch.autograd.grad(loss(out, h, c), inputs)
    for got, want in zip(grads, grads_ref, strict=True):
        assert (got - want).abs().max() <= 1e-4 * max(1.0, want.abs().max().item())
    with torch.no_grad():  # without gradients the kernel keeps nothing for backward
        out_ng, (h_ng, c_ng) = lstm_sequence(x, (h0, c0), *ref.parameters())
    assert torch.equal(out_ng, out) and torch.equal(h_ng, h) and torch.equal(c_ng, c)
    assert out_ng.untyped_storage().nbytes() < out.untyped_storage().nbytes() / 4


@needs_c
@pytest.mark.parametrize("name", ["rnn_tanh", "gru"])
@pytest.mark.parametrize("batch,inputs,hidden", [(5, 3, 7), (19, 20, 16), (32, 1, 20)])
@pytest.mark.parametrize("use", ["outputs", "state", "state_sum"])
def test_c_rnn_and_gru_kernels_equal_torch_values_and_gradients(name, batch, inputs, hidden,
                                                                 use):
    torch.manual_seed(0)
    ref = (torch.nn.RNN if name == "rnn_tanh" else torch.nn.GRU)(inputs, hidden, batch_first=True)
    with torch.no_grad():
        for p in ref.parameters():
            p.uniform_(-0.5, 0.5)
    x = torch.randn(batch, 40, inputs, requires_grad=True)
    h0 = torch.randn(batch, hidden, requires_grad=True)
    w, wh = torch.randn(batch, 40, hidden), torch.randn(batch, hidden)

    def loss(out, h):
        if use == "state_sum":  # a gradient that arrives as a broadcast (stride 0) tensor
            return h.sum()
        return (out * w).sum() if use == "outputs" else (h * wh).sum()

    out_ref, h_ref = ref(x, h0.unsqueeze(0))
    inputs_ = [x, h0, *ref.parameters()]
    grads_ref = torch.autograd.grad(loss(out_ref, h_ref[0]), inputs_)
    out, h = rnn_sequence(name, x, h0, *ref.parameters())
    assert (out - out_ref).abs().max() <= 2e-5 and (h - h_ref[0]).abs().max() <= 2e-5
    grads = torch.autograd.grad(loss(out, h), inputs_)
    for got, want in zip(grads, grads_ref, strict=True):
        assert (got - want).abs().max() <= 1e-4 * max(1.0, want.abs().max().item())
    with torch.no_grad():  # without gradients the kernel keeps nothing for backward
        out_ng, h_ng = rnn_sequence(name, x, h0, *ref.parameters())
    assert torch.equal(out_ng, out) and torch.equal(h_ng, h)
    assert out_ng.untyped_storage().nbytes() < out.untyped_storage().nbytes()
    zeros, _ = rnn_sequence(name, x, None, *ref.parameters())  # None: zero state
    torch.testing.assert_close(zeros, ref(x)[0], rtol=1e-5, atol=2e-5)


@needs_c
@pytest.mark.parametrize("peephole", [False, True])
def test_c_lstm_backward_twice_through_a_retained_graph(peephole):
    # The backward kernel overwrites the kept gates with their gradients; a second backward
    # must recompute them and give the same gradients again
    torch.manual_seed(0)
    x = torch.randn(19, 7, 3, requires_grad=True)
    h0, c0 = torch.randn(19, 5, requires_grad=True), torch.randn(19, 5)
    w_ih, w_hh = torch.randn(20, 3, requires_grad=True), torch.randn(20, 5, requires_grad=True)
    b = torch.randn(20, requires_grad=True)
    w_ch = torch.randn(3, 5, requires_grad=True) if peephole else None
    out, (h, c) = lstm_sequence(x, (h0, c0), w_ih, w_hh, b, None, w_ch)
    loss = (out * torch.randn_like(out)).sum() + c.sum()
    inputs = [x, h0, w_ih, w_hh, b] + ([w_ch] if peephole else [])
    first = torch.autograd.grad(loss, inputs, retain_graph=True)
    second = torch.autograd.grad(loss, inputs)
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)


@needs_c
def test_lstm_layer_takes_the_c_kernel_in_float32():
    from seqcast.nn.cells import make_cell
    from seqcast.nn.recurrent import Recurrent

    layer = Recurrent(make_cell("lstm", 2, 6))
    x = torch.randn(3, 9, 2)
    assert _chosen(layer, x) == "native"
    out, _ = layer(x)
    with torch.no_grad():  # forecasts and validation too
        assert _chosen(layer, x) == "native"
        out_ng, _ = layer(x)
    assert torch.equal(out_ng, out)
    layer.double()
    assert _chosen(layer, x.double()) == "torch"  # float64: torch's kernel


def _fresh_library(monkeypatch, tmp_path, **env):
    from seqcast.backends.native import build as native

    monkeypatch.setenv("SEQCAST_CACHE_DIR", str(tmp_path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    native.library.cache_clear()
    try:
        return native.library()
    finally:
        native.library.cache_clear()


def _cpu_has(flag: str) -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and f" {flag}" in line for line in f)
    except OSError:
        return False


NARROWER = [["-O3", "-fno-trapping-math"]]  # the generic vectors: 4 lanes without AVX on x86
if _cpu_has("avx512f") and _cpu_has("avx2"):  # 8 lanes, AVX2's gathers
    NARROWER.append(["-O3", "-march=native", "-mno-avx512f", "-fno-trapping-math"])


@needs_c
@pytest.mark.parametrize("flags", NARROWER, ids=lambda f: " ".join(f[1:]))
def test_c_lstm_kernel_built_for_narrower_vectors(flags, monkeypatch, build_cache):
    # The lane count follows the instruction set; every build equals torch.lstm
    from seqcast.backends.native import build

    widest = library().seqcast_lanes()
    monkeypatch.setattr(build, "_FLAGS", (flags,))
    lib = _fresh_library(monkeypatch, build_cache)
    assert lib is not None and lib.seqcast_lanes() <= widest
    monkeypatch.setattr(native, "library", lambda: lib)
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, 7, batch_first=True)
    x = torch.randn(19, 30, 3, requires_grad=True)  # 19 rows: a partial vector of lanes
    h0, c0 = torch.randn(19, 7), torch.randn(19, 7)
    w = torch.randn(19, 30, 7)
    out_ref, _ = ref(x, (h0.unsqueeze(0), c0.unsqueeze(0)))
    grads_ref = torch.autograd.grad((out_ref * w).sum(), [x, *ref.parameters()])
    out, _ = lstm_sequence(x, (h0, c0), *ref.parameters())
    assert (out - out_ref).abs().max() <= 1e-5
    grads = torch.autograd.grad((out * w).sum(), [x, *ref.parameters()])
    for got, want in zip(grads, grads_ref, strict=True):
        assert (got - want).abs().max() <= 1e-4 * max(1.0, want.abs().max().item())
    # the Elman RNN and the GRU
    for name, cls in (("rnn_tanh", torch.nn.RNN), ("gru", torch.nn.GRU)):
        ref = cls(3, 7, batch_first=True)
        out_ref, _ = ref(x, h0.unsqueeze(0))
        grads_ref = torch.autograd.grad((out_ref * w).sum(), [x, *ref.parameters()])
        out, _ = rnn_sequence(name, x, h0, *ref.parameters())
        assert (out - out_ref).abs().max() <= 1e-5
        grads = torch.autograd.grad((out * w).sum(), [x, *ref.parameters()])
        for got, want in zip(grads, grads_ref, strict=True):
            assert (got - want).abs().max() <= 1e-4 * max(1.0, want.abs().max().item())
    # the layer-norm SimpleRNN, against its TorchScript kernel
    from seqcast.backends.script.cells import ln_rnn_tanh_sequence

    ws = [torch.randn(7, 3) * 0.5, torch.randn(7, 7) * 0.5, torch.randn(7), 1 + torch.rand(7),
          torch.randn(7)]
    ws = [t.requires_grad_() for t in ws]
    out_ref, _ = ln_rnn_tanh_sequence(x, h0, *ws, 1e-3)
    grads_ref = torch.autograd.grad((out_ref * w).sum(), [x, *ws])
    out, _ = ln_rnn_sequence(x, h0, *ws, 1e-3)
    assert (out - out_ref).abs().max() <= 1e-5
    for got, want in zip(torch.autograd.grad((out * w).sum(), [x, *ws]), grads_ref, strict=True):
        assert (got - want).abs().max() <= 1e-4 * max(1.0, want.abs().max().item())
    # and WaveNet's residual stack
    from seqcast.backends.native import generation
    from seqcast.backends.native import wavenet as wavenet_stack
    from seqcast.nn.conv import ResidualLayer

    monkeypatch.setattr(wavenet_stack, "library", lambda: lib)
    monkeypatch.setattr(generation, "library", lambda: lib)
    from seqcast.models import WaveNet
    from seqcast.nn.conv import Conv1d

    model = WaveNet(channels=6, blocks=1, layers_per_block=3, horizon=2).eval()
    history = torch.randn(3, 9, 1)
    got = model.generate(history, 12, backend="native")
    want = model.generate(history, 12, backend="python")
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)

    convs = torch.nn.ModuleList(Conv1d(a, b, 2, dilation=d) for a, b, d in ((3, 6, 1), (6, 5, 2)))
    want = torch.relu(convs[1](torch.relu(convs[0](x))))
    got = wavenet_stack.conv_stack(x, convs)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    for g, r in zip(torch.autograd.grad(got.square().sum(), [x, *convs.parameters()]),
                    torch.autograd.grad(want.square().sum(), [x, *convs.parameters()]), strict=True):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-4)
    layers = torch.nn.ModuleList(ResidualLayer(6, 6, 2, d) for d in (1, 2, 4))
    h = torch.randn(19, 20, 6, requires_grad=True)
    want, hr = 0, h
    for layer in layers:
        hr, skip = layer(hr)
        want = want + skip
    got = wavenet_stack.residual_stack(h, layers)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    inputs = [h, *layers.parameters()]
    for g, r in zip(torch.autograd.grad((got * w[:, :20, :6]).sum(), inputs),
                    torch.autograd.grad((want * w[:, :20, :6]).sum(), inputs), strict=True):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-4)


@needs_c
def test_c_kernels_are_built_once_into_the_cache(monkeypatch, tmp_path):
    assert _fresh_library(monkeypatch, tmp_path) is not None
    built = sorted(tmp_path.glob("*.so"))
    assert len(built) == 1 and built[0].stat().st_mode & 0o777 == 0o644  # readable by all
    assert [p.suffix for p in tmp_path.iterdir() if p.suffix != ".so"] == [".lock"]
    stamp = built[0].stat().st_mtime_ns
    assert _fresh_library(monkeypatch, tmp_path) is not None
    assert sorted(tmp_path.glob("*.so")) == built and built[0].stat().st_mtime_ns == stamp


def test_without_a_working_compiler_the_layers_fall_back(monkeypatch, tmp_path):
    broken = tmp_path / "cc"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    cache = tmp_path / "cache"
    with pytest.warns(RuntimeWarning, match="C kernels are off"):
        assert _fresh_library(monkeypatch, cache, CC=str(broken)) is None
    assert not list(cache.glob("*.so*"))  # no partial library left behind
    assert _fresh_library(monkeypatch, cache, SEQCAST_NATIVE="0") is None


def test_lstm_and_peephole_train_without_the_c_kernels(monkeypatch, tmp_path):
    from seqcast.backends.native import build
    from seqcast.nn.cells import make_cell
    from seqcast.nn.recurrent import Recurrent

    monkeypatch.setenv("SEQCAST_NATIVE", "0")
    build.library.cache_clear()
    try:
        for name in ("lstm", "peephole"):
            layer = Recurrent(make_cell(name, 2, 6))
            x = torch.randn(3, 9, 2)
            assert _chosen(layer, x) == ("torch" if name == "lstm" else "script")
            out, _ = layer(x)
            out.sum().backward()
            assert all(p.grad is not None for p in layer.parameters())
    finally:
        build.library.cache_clear()


@pytest.mark.parametrize("kind", [structs.RecurrentForward, structs.RecurrentBackward])
def test_a_packed_struct_has_the_bytes_of_its_ctypes_mirror(kind):
    # the recurrent layers pack their arguments in one call; C reads them as the mirror's
    fields, values = {}, []
    for i, (name, field) in enumerate(kind._fields_):
        if field is ctypes.c_double:
            value = (0.25 + i,)
        elif field is ctypes.c_void_p:
            value = (0 if i % 3 == 0 else 4096 * (i + 1),)  # NULL and addresses
        else:  # an int64 or three strides
            value = (i + 1, -(i + 2), 3 * i) if field is not ctypes.c_int64 else (-(i + 1),)
        fields[name] = value if len(value) == 3 else value[0]
        values += value
    assert structs.packer(kind).pack(*values) == bytes(kind(**fields))
