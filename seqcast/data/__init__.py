"""Data: generators, windows and named datasets (pure numpy; no torch)."""
