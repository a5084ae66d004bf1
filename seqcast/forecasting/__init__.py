"""Forecasting end to end: intervals, calibration and scores on top of ``seqcast.pipeline``."""
