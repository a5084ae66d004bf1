"""A forecaster end to end: export and fast prediction (more modules join this package)."""
