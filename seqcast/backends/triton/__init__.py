"""GPU kernels in Triton: WaveNet generation as one persistent kernel (``wavenet.py``)."""
