"""The command line: one module per verb group, each parsing its arguments into a config
and calling one API function. Nothing else in the package imports it."""

from .app import build_parser, main

__all__ = ["build_parser", "main"]
