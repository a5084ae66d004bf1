#!/usr/bin/env bash
# The GPU checks in one go: the tests that need CUDA, WaveNet generation, the real-time
# factor of `seqcast audio generate`, `seqcast bench` and a timed `seqcast reproduce` (all
# rows, 20 epochs, one seed). Results land in $OUT.
#
#   OUT=gpu-results bash benchmarks/gpu.sh [SECTION ...]   (sections: tests gen audio bench reproduce)
#
# Runs from the repository root with seqcast importable (installed, or PYTHONPATH=.).
set -u
OUT=${OUT:-gpu-results}
DEVICE=${DEVICE:-cuda}
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:-$PWD} PYTHONUNBUFFERED=1
sections=${*:-tests gen audio bench reproduce}
python3 -c "import torch, sys; print('torch', torch.__version__, 'python', sys.version.split()[0],
      torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"
for section in $sections; do
  echo "=== $section $(date +%T)"
  start=$(date +%s.%N)
  case $section in
    tests)
      timeout 200 python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_audio_cli.py::test_generate_on_cuda \
        tests/test_wavenet_kernel.py tests/test_conv.py tests/test_misuse.py 2>&1 | tee "$OUT/tests.log" | tail -25 ;;
    gen)
      timeout 150 python3 -c "
import json, sys
from seqcast.bench import generation
g = generation(device='$DEVICE', steps=${GEN_STEPS:-0} or None)
json.dump(g, open('$OUT/generation.json', 'w'), indent=2)
print(json.dumps(g, indent=2))
import time, torch
from seqcast.backends.triton import wavenet as wavenet_kernel
from seqcast.models import WaveNet
from seqcast.nn.wavenet import Generation
def state(m, h, steps):
    q = []; out = m._run(h, q)[:, -1]
    return Generation(m.input_conv, m.layers, m.post, m.head, q, out, steps, lambda: None), out[:, :1]
if torch.cuda.is_available() and wavenet_kernel.triton is not None:
    torch.manual_seed(0)
    m = WaveNet(channels=64, blocks=3, layers_per_block=10).cuda().eval()
    for b in (1, 64):
        h = torch.randn(b, 3071, 1, device='cuda')
        with torch.no_grad():
            ref = m.generate(h, 512, fused=False, cuda_graph=False)
            for prec, stages, warps in [('ieee', 1, 4), ('tf32', 1, 4), ('tf32', 2, 4),
                                        ('tf32', 3, 4), ('tf32', 1, 2), ('tf32', 2, 8)]:
                kw = dict(precision=prec, stages=stages, num_warps=warps)
                g, first = state(m, h, 8)
                wavenet_kernel.generate(g, first, **kw)
                g, first = state(m, h, 4096)
                torch.cuda.synchronize(); t = time.perf_counter()
                out = wavenet_kernel.generate(g, first, **kw)
                torch.cuda.synchronize(); dt = time.perf_counter() - t
                print(f'kernel batch {b} {kw}: {4096 * b / dt:,.0f} samples/s, '
                      f'max diff vs eager over 512 steps {(out[:, :512] - ref).abs().max().item():.2e}')
" ;;
    audio)
      # the default model of `seqcast audio train` (a few updates on a chirp: its speed is the
      # trained one's), then 10 s of `seqcast audio generate` at 16 kHz on the GPU (the mu-law
      # head in the Triton kernel) and on one CPU core (the C loop)
      python3 -c "
import numpy as np, soundfile as sf
t = np.arange(3 * 16000) / 16000
sf.write('$OUT/chirp.wav', 0.5 * np.sin(2 * np.pi * (200 + 300 * t) * t), 16000, subtype='PCM_16')"
      timeout 200 python3 -m seqcast audio train --wav "$OUT/chirp.wav" --out "$OUT/audio-run" \
        --minutes 0.05 2>&1 | tail -2
      for device in cuda cuda cpu; do
        OMP_NUM_THREADS=1 timeout 200 python3 -m seqcast audio generate "$OUT/audio-run" \
          --seconds 10 --out "$OUT/generated-$device.wav" --device $device 2>&1 | tee -a "$OUT/audio.log"
      done ;;
    bench)
      timeout 200 python3 -m seqcast bench --device "$DEVICE" --repeats 2 --no-generation \
        ${BENCH_ONLY:+--only $BENCH_ONLY} --json "$OUT/bench.json" 2>&1 | tail -30 ;;
    reproduce)
      timeout 200 python3 -m seqcast reproduce --device "$DEVICE" ${REPRO_ONLY:+--only $REPRO_ONLY} \
        ${REPRO_EPOCHS:+--epochs $REPRO_EPOCHS} --out "$OUT/reproduce" 2>&1 | tail -30 ;;
  esac
  echo "=== $section done in $(python3 -c "import time; print(f'{time.time() - $start:.1f}')") s"
done
