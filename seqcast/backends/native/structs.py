"""The C entry points' argument structs (``csrc/seqcast.h``), mirrored field for field.

Each entry point takes one pointer to one of these; the order of ``STRUCTS`` is the order
of ``seqcast_struct_size``'s cases, which ``build.load`` compares with ``ctypes.sizeof`` so
that a header and a mirror that disagree never reach a kernel.

The recurrent layers call C twice per training step and layer, so their structs are also
written by ``packer``: the same bytes as the ctypes.Structure, from one ``struct.pack``
(about 0.1 us against 1-1.5 us to fill 25-30 fields of a ctypes.Structure by name).
"""

from __future__ import annotations

import ctypes
import enum
import struct

_i64, _f64, _p = ctypes.c_int64, ctypes.c_double, ctypes.c_void_p
_strides = ctypes.c_int64 * 3
_pp = ctypes.POINTER(ctypes.c_void_p)  # an array of tensor addresses, one per layer


class Status(enum.IntEnum):
    OK = 0
    NO_MEMORY = 1
    BAD_ARGUMENT = 2


MAX_SIZE = 1 << 24  # the largest batch, length or width a kernel takes (SIZE_OK_, common.h)


class Cell(enum.IntEnum):
    RNN_TANH = 0
    GRU = 1
    LN_RNN_TANH = 2
    LSTM = 3
    PEEPHOLE_LSTM = 4


class Head(enum.IntEnum):
    """What generation feeds back: ``DENSE``, the first output of a regression head;
    ``MULAW``, the amplitude of a class drawn from the head's logits."""

    DENSE = 0
    MULAW = 1


def _fields(spec: str, kinds: dict) -> list[tuple[str, object]]:
    """``"name:kind name:kind ..."`` -> ctypes ``_fields_``."""
    return [(name, kinds[kind]) for name, kind in (item.split(":") for item in spec.split())]


_K = {"i": _i64, "f": _f64, "p": _p, "s": _strides, "pp": _pp, "pi": ctypes.POINTER(_i64)}


class RecurrentForward(ctypes.Structure):
    _fields_ = _fields(
        "cell:i T:i B:i I:i H:i x:p x_strides:s w_ih:p w_hh:p b_ih:p b_hh:p w_ch:p gamma:p "
        "beta:p eps:f h0:p c0:p hs:p hT:p cT:p xh:p act:p cs:p", _K)


class RecurrentBackward(ctypes.Structure):
    _fields_ = _fields(
        "cell:i T:i B:i I:i H:i dy:p dy_strides:s dhT:p dcT:p w_ih:p w_hh:p w_ch:p gamma:p "
        "xh:p act:p cs:p c0:p dw_ih:p dw_hh:p db_ih:p db_hh:p dw_ch:p dgamma:p dbeta:p dx:p "
        "dx_strides:s dh0:p dc0:p", _K)


class WavenetForward(ctypes.Structure):
    _fields_ = _fields(
        "L:i C:i S:i K:i T:i B:i P:i dilations:pi w_conv:pp b_conv:pp w_out:pp b_out:pp x:p "
        "x_strides:s hs:p gates:p skips:p training:i b_rows:p", _K)


class WavenetBackward(ctypes.Structure):
    _fields_ = _fields(
        "L:i C:i S:i K:i T:i B:i P:i dilations:pi w_conv:pp w_out:pp dy:p dy_strides:s hs:p "
        "gates:p dx:p dx_strides:s dw_conv:pp db_conv:pp dw_out:pp db_out:pp db_rows:p", _K)


class ConvsForward(ctypes.Structure):
    _fields_ = _fields(
        "L:i K:i T:i B:i P:i channels:pi dilations:pi w:pp b:pp x:p x_strides:s hs:p training:i",
        _K)


class ConvsBackward(ctypes.Structure):
    _fields_ = _fields(
        "L:i K:i T:i B:i P:i channels:pi dilations:pi w:pp dy:p dy_strides:s hs:p dx:p "
        "dx_strides:s dw:pp db:pp", _K)


class WavenetGenerate(ctypes.Structure):
    _fields_ = _fields(
        "L:i C:i S:i K:i dilations:pi input_dilation:i B:i steps:i t0:i w_in:p b_in:p q_in:p "
        "w_conv:pp b_conv:pp w_out:pp b_out:pp queues:pp head:i hidden:i outputs:i w1:p b1:p "
        "w2:p b2:p values:p temperature:f uniforms:p table:p", _K)


class Loss(enum.IntEnum):
    """A distribution head's training loss (``seqcast_head_loss``)."""

    PINBALL = 0
    NORMAL = 1
    STUDENTT = 2


MAX_QUANTILES = 256  # SEQCAST_MAX_QUANTILES


class HeadLoss(ctypes.Structure):
    _fields_ = _fields("kind:i N:i K:i H:i out:p out_stride:i y:p y_stride:i levels:p scale:f loss:p grad:p",
                       _K)


def packer(kind: type[ctypes.Structure]) -> struct.Struct:
    """A ``struct.Struct`` whose ``pack(*values)`` gives the bytes of ``kind(*values)``:
    the values in field order, addresses as integers (0 for NULL), each strides field as
    its three values in line. Built from ``kind._fields_`` and checked against ctypes'
    offset of every field, so it cannot disagree with the mirror."""
    codes = {_i64: "q", _f64: "d", _p: "Q", _strides: "3q"}
    fmt = "="  # native byte order, no padding: the check below sees any the C layout has
    for name, field in kind._fields_:
        if struct.calcsize(fmt) != getattr(kind, name).offset or field not in codes:
            raise TypeError(f"{kind.__name__}.{name} cannot be packed")
        fmt += codes[field]
    if struct.calcsize(fmt) != ctypes.sizeof(kind):
        raise TypeError(f"{kind.__name__} has trailing padding")
    return struct.Struct(fmt)


# entry point -> its struct, in seqcast_struct_size's order
STRUCTS = {
    "seqcast_recurrent_forward": RecurrentForward,
    "seqcast_recurrent_backward": RecurrentBackward,
    "seqcast_wavenet_forward": WavenetForward,
    "seqcast_wavenet_backward": WavenetBackward,
    "seqcast_convs_forward": ConvsForward,
    "seqcast_convs_backward": ConvsBackward,
    "seqcast_wavenet_generate": WavenetGenerate,
    "seqcast_head_loss": HeadLoss,
}


def addresses(tensors) -> ctypes.Array:
    """One address per tensor (None for None): a ``pp`` field's array. Keep it alive, and the
    tensors, until the call returns."""
    return (ctypes.c_void_p * max(len(tensors), 1))(
        *[None if t is None else t.data_ptr() for t in tensors])


def int64s(values) -> ctypes.Array:
    """An int64_t array field (dilations, channels)."""
    return (ctypes.c_int64 * max(len(values), 1))(*[int(v) for v in values])


def strides(t) -> ctypes.Array:
    """A tensor's three strides, or zeros for None."""
    return _strides(*(t.stride() if t is not None else (0, 0, 0)))


def ptr(t) -> int:
    """A tensor's data address, 0 (NULL) for None."""
    return 0 if t is None else t.data_ptr()
