"""The C kernels: sources in ``csrc/``, the build (``build.py``), the argument structs
mirrored from ``csrc/seqcast.h`` (``structs.py``), and one module of checked wrappers per
kind of layer (``recurrent.py``, ``wavenet.py``), WaveNet generation (``generation.py``) and
the distribution heads' training losses (``heads.py``)."""

from .build import NativeUnavailable, library, unavailable_reason

__all__ = ["NativeUnavailable", "library", "unavailable_reason"]
