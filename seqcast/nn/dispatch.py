"""Strict selection among an operation's implementations.

Each operation (a recurrent layer, a WaveNet stack, WaveNet generation) has an ordered list
of ``Implementation``s: the fast ones, which live in ``seqcast.backends``, then the layer's
own reference code, always last, so there is always a correct path. ``select(op, "auto",
...)`` takes the first that can run the inputs; naming one that cannot raises
``BackendUnavailable`` with its reason (as Keras' ``use_cudnn=True`` does).

The layers here know only the reference implementations. ``seqcast.backends`` installs its
own in front of them the first time an operation is selected: loaded by name, so that
``nn`` imports nothing above it while every layer still finds its fast paths.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class BackendUnavailable(RuntimeError):
    """A backend was named that cannot run these inputs; the message says why."""


@dataclass(frozen=True)
class Implementation:
    """One way to compute an operation.

    Args:
        name: what ``backend=`` calls it.
        reason: ``reason(*args)`` is why it cannot run these arguments, or None if it can.
        run: ``run(*args)`` computes the operation.
    """

    name: str
    reason: Callable[..., str | None]
    run: Callable[..., Any]


_REFERENCE: dict[str, Implementation] = {}  # op -> the layer's own code
_FAST: dict[str, list[Implementation]] = {}  # op -> the backends', in order of preference
_ORDER: dict[str, tuple[Implementation, ...]] = {}  # op -> both, made once (select is per call)
_SIGNATURE: dict[str, Callable[..., Any]] = {}  # op -> what its reasons read, or None
_CHOSEN: dict[tuple, Implementation] = {}  # (op, backend, signature) -> what select returned
_loaded = False


def reference(op: str, name: str, run: Callable[..., Any]) -> Implementation:
    """Declare ``run`` the reference implementation of ``op`` (it runs any input)."""
    impl = Implementation(name, lambda *args: None, run)
    _REFERENCE[op] = impl
    _ORDER.clear()
    _CHOSEN.clear()
    return impl


def install(op: str, implementations: list[Implementation],
            signature: Callable[..., Any] | None = None) -> None:
    """Put the fast implementations of ``op``, best first, in front of its reference.
    ``signature(*args)``, where given, is a hashable value that fixes every reason's answer
    for ``args`` (None where it cannot): ``select`` then decides once per signature."""
    _FAST[op] = list(implementations)
    if signature is not None:
        _SIGNATURE[op] = signature
    _ORDER.clear()
    _CHOSEN.clear()


def implementations(op: str) -> tuple[Implementation, ...]:
    """Every implementation of ``op`` in order of preference, the reference last."""
    order = _ORDER.get(op)
    if order is None:
        global _loaded
        if not _loaded:
            _loaded = True
            importlib.import_module("seqcast.backends")  # installs the fast implementations
        order = _ORDER[op] = (*_FAST.get(op, []), _REFERENCE[op])
    return order


def names(op: str) -> list[str]:
    return ["auto", *(impl.name for impl in implementations(op))]


def select(op: str, backend: str, *args) -> Implementation:
    """The implementation of ``op`` to run ``args`` with: for "auto" the first that can, else
    the one named, which must be able to (``BackendUnavailable`` says why not). A choice is
    remembered per signature (see ``install``); a refusal is not: it raises every time."""
    signature = _SIGNATURE.get(op)
    key = None if signature is None else signature(*args)
    if key is not None:
        key = (op, backend, key)
        impl = _CHOSEN.get(key)
        if impl is not None:
            return impl
    impl = _select(op, backend, args)
    if key is not None:
        _CHOSEN[key] = impl
    return impl


def _select(op: str, backend: str, args: tuple) -> Implementation:
    impls = implementations(op)
    if backend == "auto":
        for impl in impls:
            if impl.reason(*args) is None:
                return impl
    for impl in impls:
        if impl.name == backend:
            why = impl.reason(*args)
            if why is not None:
                raise BackendUnavailable(f"backend {backend!r} cannot run {op} here: {why}")
            return impl
    raise ValueError(f"unknown backend {backend!r} for {op}; valid: {', '.join(names(op))}")


def available(op: str, *args) -> list[str]:
    """Names of the implementations that can run ``args``, best first (for tests)."""
    return [impl.name for impl in implementations(op) if impl.reason(*args) is None]
