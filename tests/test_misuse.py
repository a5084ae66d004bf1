"""Misuse of every recurrent cell, both WaveNets and generation, through every backend the
selector offers, with the C kernels on and off: each case raises a clear error or gives
torch's answer, never a wrong-shaped or silently wrong result."""

import pytest
import torch

from seqcast.backends import BackendUnavailable
from seqcast.backends.native import build
from seqcast.models import SimpleWaveNet, WaveNet
from seqcast.nn import Recurrent, make_cell
from seqcast.nn.recurrent import BACKENDS

CELLS = ["simple", "lstm", "gru", "ln_simple", "peephole"]
NAMED = [b for b in BACKENDS if b != "auto"]
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(params=["native on", "native off"])
def native(request, monkeypatch):
    """The suite runs twice: with the C kernels where they build, and with them off."""
    if request.param == "native off":
        monkeypatch.setenv("SEQCAST_NATIVE", "0")
    build.library.cache_clear()
    if request.param == "native on" and build.library() is None:
        pytest.skip("no C compiler here")
    yield request.param
    build.library.cache_clear()


def _layer(name, backend="auto", inputs=3, hidden=4):
    torch.manual_seed(0)
    return Recurrent(make_cell(name, inputs, hidden), backend=backend)


def _state(name, batch, hidden=4, **kw):
    h = torch.randn(batch, hidden, **kw)
    return (h, torch.randn(batch, hidden, **kw)) if name in ("lstm", "peephole") else h


def _run(layer, *args):
    """The layer's answer, or None where the named backend says it cannot run these inputs."""
    try:
        return layer(*args)
    except BackendUnavailable:
        assert layer.backend != "auto"  # "auto" always finds a path
        return None


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", CELLS)
def test_wrong_shapes_and_dtypes_raise_like_torch_nn(name, backend, native):
    layer = _layer(name, backend)
    x = torch.randn(2, 5, 3)
    with pytest.raises(ValueError, match=r"input.size\(-1\) must be equal to input_size. Expected 3, got 7"):
        layer(torch.randn(2, 5, 7))
    with pytest.raises(ValueError, match=r"Expected hidden(\[0\])? size \(2, 4\), got \[1, 4\]"):
        layer(x, _state(name, 1))  # a state of batch 1 for a batch of 2
    with pytest.raises(ValueError, match=r"Expected hidden(\[0\])? size \(2, 4\), got \[2, 5\]"):
        layer(x, _state(name, 2, hidden=5))
    for dtype in (torch.float64, torch.float16, torch.int64):
        with pytest.raises(ValueError, match=f"input dtype \\({dtype}\\) does not match weight dtype"):
            layer(x.to(dtype))
    with pytest.raises(ValueError, match=r"hidden(\[0\])? dtype \(torch.float64\) does not match"):
        layer(x, _state(name, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="Expected sequence length to be larger than 0"):
        layer(torch.randn(2, 0, 3))
    with pytest.raises(ValueError, match=r"expects a state of (a pair|one tensor)"):
        layer(x, (torch.zeros(2, 4),) * 3)
    with pytest.raises(ValueError, match=r"Recurrent expects \(B, T, C\) input"):
        layer(torch.randn(5, 3))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", CELLS)
def test_edge_inputs_give_the_reference_answer(name, backend, native):
    layer, reference = _layer(name, backend), _layer(name, "python")
    x, state = torch.randn(6, 9, 3), _state(name, 6)
    want, want_state = reference(x, state)
    got = _run(layer, x, state)
    if got is not None:
        torch.testing.assert_close(got[0], want, rtol=1e-5, atol=1e-5)
    # non-contiguous inputs and states: every other row, time steps transposed in memory
    wide = torch.randn(12, 9, 3)[::2]
    strided = torch.randn(3, 9, 6).permute(2, 1, 0)
    column_major = tuple(s.t().contiguous().t() for s in state) if isinstance(state, tuple) else (
        state.t().contiguous().t())
    for xs, ss in ((wide, state), (strided, column_major)):
        assert not xs.is_contiguous()
        got = _run(layer, xs, ss)
        if got is not None:
            torch.testing.assert_close(got[0], reference(xs.contiguous(), state)[0], rtol=1e-5, atol=1e-5)
    empty = _run(layer, torch.randn(0, 9, 3))  # torch.nn gives empty outputs
    if empty is not None:
        assert empty[0].shape == (0, 9, 4)
    if backend == "auto":
        assert empty is not None


@cuda
@pytest.mark.parametrize("name", CELLS)
def test_cuda_and_cpu_tensors_are_not_mixed(name):
    layer = _layer(name)
    with pytest.raises(ValueError, match="not at the same device"):
        layer(torch.randn(2, 5, 3, device="cuda"))
    with pytest.raises(ValueError, match="not at the same device"):
        layer(torch.randn(2, 5, 3), _state(name, 2, device="cuda"))


def _wavenets():
    torch.manual_seed(0)
    return [SimpleWaveNet(filters=6, dilations=(1, 2, 4), horizon=2),
            WaveNet(channels=8, blocks=1, layers_per_block=3, horizon=2)]


@pytest.mark.parametrize("backend", ["auto", "native", "python"])
def test_wavenets_refuse_wrong_inputs(backend, native):
    for model in _wavenets():
        model.backend = backend
        for bad, match in [(torch.randn(2, 9, 3), "channels"), (torch.randn(0, 9, 1), "non-empty"),
                           (torch.randn(2, 0, 1), "non-empty"), (torch.randn(9, 1), "non-empty"),
                           (torch.randn(2, 9, 1, dtype=torch.float64), "dtype"),
                           (torch.randint(0, 3, (2, 9, 1)), "dtype")]:
            with pytest.raises(ValueError, match=match):
                model(bad)
        x = torch.randn(4, 9, 1)
        model.backend = "python"
        want = model(x)
        model.backend = backend
        try:
            got = model(torch.randn(4, 9, 2)[..., :1])  # non-contiguous, other values
            got = model(x.transpose(0, 1).contiguous().transpose(0, 1))
        except BackendUnavailable:
            assert backend == "native" and native == "native off"
            continue
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", ["auto", "native", "python"])
def test_generation_refuses_wrong_inputs(backend, native):
    model = _wavenets()[1].eval()
    for bad, match in [(torch.randn(2, 9, 2), "univariate"), (torch.randn(2, 0, 1), "univariate"),
                       (torch.randn(9, 1), "univariate"),
                       (torch.randn(2, 9, 1, dtype=torch.float64), "dtype")]:
        with pytest.raises(ValueError, match=match):
            model.generate(bad, 5, backend=backend)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        model.generate(torch.randn(2, 9, 1), 0, backend=backend)
    history = torch.randn(3, 9, 2)[..., :1]  # non-contiguous
    want = model.generate(history.contiguous(), 12, backend="python")
    try:
        got = model.generate(history, 12, backend=backend)
    except BackendUnavailable:
        assert backend == "native" and native == "native off"
        return
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_the_c_wrapper_refuses_what_would_read_out_of_bounds():
    from seqcast.backends.native import recurrent as native_rnn
    from seqcast.backends.native.structs import Cell, RecurrentForward, Status

    if build.library() is None:
        pytest.skip("no C compiler here")
    x, w_hh = torch.randn(2, 5, 7), torch.randn(16, 4)
    with pytest.raises(ValueError, match=r"weight_ih has shape \(16, 3\), expected \(16, 7\)"):
        native_rnn.sequence(Cell.LSTM, x, None, None, torch.randn(16, 3), w_hh, torch.zeros(16))
    with pytest.raises(ValueError, match=r"h0 has shape \(1, 4\), expected \(2, 4\)"):
        native_rnn.sequence(Cell.LSTM, torch.randn(2, 5, 3), torch.zeros(1, 4), None,
                            torch.randn(16, 3), w_hh, torch.zeros(16))
    with pytest.raises(TypeError, match="must have the type torch.float32"):
        native_rnn.sequence(Cell.GRU, torch.randn(2, 5, 3).double(), None, None,
                            torch.randn(12, 3), torch.randn(12, 4), torch.zeros(12), torch.zeros(12))
    # and the C entry point itself answers BAD_ARGUMENT to sizes out of range
    args = RecurrentForward(cell=Cell.GRU, T=0, B=2, I=3, H=4)
    assert build.library().seqcast_recurrent_forward(args) == Status.BAD_ARGUMENT
    args = RecurrentForward(cell=9, T=5, B=2, I=3, H=4)
    assert build.library().seqcast_recurrent_forward(args) == Status.BAD_ARGUMENT


@pytest.mark.parametrize("name", CELLS)
def test_weights_resized_after_the_first_call_never_reach_c(name):
    # the selection is remembered per input signature; the weights are checked at every call
    if build.library() is None:
        pytest.skip("no C compiler here")
    layer = _layer(name, "native")
    x = torch.randn(2, 5, 3)
    layer(x)
    layer.cell.weight_ih.data = torch.randn(layer.cell.weight_ih.shape[0], 2)
    with pytest.raises(ValueError, match=r"weight_ih has shape \(\d+, 2\), expected \(\d+, 3\)"):
        layer(x)
    layer.backend = "auto"
    with pytest.raises(ValueError, match=r"weight_ih has shape"):
        layer(x)


def test_wavenet_weights_resized_after_the_first_call_never_reach_c():
    # the C stacks take their sizes from the layers; the tensors must agree with them
    if build.library() is None:
        pytest.skip("no C compiler here")
    from seqcast.nn.conv import Conv1d, ResidualLayer

    for model in _wavenets():
        model.backend = "native"
        x = torch.randn(2, 9, 1)
        model(x)
        kind = ResidualLayer if isinstance(model, WaveNet) else Conv1d
        layer = [m for m in model.modules() if isinstance(m, kind)][1]
        conv = layer.conv if kind is ResidualLayer else layer
        conv.weight.data = torch.randn(*conv.weight.shape[:2], conv.weight.shape[2] + 1)
        with pytest.raises(BackendUnavailable, match="shapes"):
            model(x)
