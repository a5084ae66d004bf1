"""``seqcast audio train | evaluate | generate``: WaveNet on WAV recordings."""

from __future__ import annotations

import argparse
import sys

from .series_args import _positive


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def cmd_train(args) -> int:
    from ..audio import api
    from ..audio.config import AudioConfig

    config = AudioConfig(sample_rate=args.sample_rate, window=args.window, minutes=args.minutes,
                         blocks=args.blocks, layers_per_block=args.layers_per_block,
                         channels=args.channels, batch_size=args.batch_size, lr=args.lr,
                         seed=args.seed, threads=args.threads)
    summary = api.train(args.wav, args.out, config, args.valid, args.speaker_labels,
                        log=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"validation: {summary['valid_bits']:.3f} bits per sample over {summary['samples']:,} "
          f"samples (unigram {summary['unigram_bits']:.3f}, order-16 linear predictor "
          f"{summary['lpc_bits']:.3f}); {summary['steps']} updates in {summary['cpu_seconds']:.0f} s "
          f"CPU, {summary['wall_seconds']:.0f} s wall")
    print(f"run written to {args.out}", file=sys.stderr)
    return 0


def cmd_evaluate(args) -> int:
    from ..audio import api

    result = api.evaluate(args.run, args.wav, args.json, args.speaker_labels)
    print(f"{'file':<28} {'samples':>9} {'model':>7} {'unigram':>8} {'lpc-16':>7}  (bits per sample)")
    for name, r in result["files"].items():
        print(f"{name:<28} {r['samples']:>9,} {r['bits_per_sample']:>7.3f} {r['unigram_bits']:>8.3f}"
              f" {r['lpc_bits']:>7.3f}")
    for name, r in result["files"].items():
        if "converted" in r:
            print(f"{name}: {r['converted']} (as training audio is)", file=sys.stderr)
    return 0


def cmd_generate(args) -> int:
    from ..audio import api

    r = api.generate(args.run, args.seconds, args.out, args.prime, args.temperature, args.seed,
                     args.speaker, args.device)
    if "prime_converted" in r:
        print(f"{args.prime}: {r['prime_converted']} (as training audio is)", file=sys.stderr)
    print(f"{r['seconds']:.2f} s of audio in {r['generation_seconds']:.2f} s on {r['device']}: "
          f"real-time factor "
          f"{r['real_time_factor']:.3f} ({r['cpu_real_time_factor']:.3f} by CPU time); "
          f"written to {args.out}")
    return 0


def add_parsers(sub) -> None:
    """Add ``audio`` and its verbs to the ``seqcast`` subcommand parser."""
    audio = sub.add_parser("audio", help="WaveNet on recordings (WAV, FLAC, ...): train, evaluate, generate")
    # the verbs' parsers are of the same class as ``audio``'s: one-line errors, exit 2
    verbs = audio.add_subparsers(dest="audio_command", required=True, parser_class=type(audio))

    p = verbs.add_parser("train", help="train a mu-law WaveNet on audio files; write a run directory")
    p.add_argument("--wav", nargs="+", required=True, metavar="FILE",
                   help="training recordings (WAV of any sample format, FLAC, AIFF, Ogg, MP3)")
    p.add_argument("--out", required=True, metavar="RUN_DIR")
    p.add_argument("--valid", nargs="+", metavar="FILE",
                   help="held-out recordings for early stopping (default: the last 10%% of each)")
    p.add_argument("--sample-rate", type=_positive, default=16000, help="Hz (default 16000)")
    p.add_argument("--window", type=_positive_float, default=1.0,
                   help="seconds per training window (default 1)")
    p.add_argument("--minutes", type=_positive_float, default=10.0,
                   help="training budget in CPU minutes of this process (default 10)")
    p.add_argument("--blocks", type=_positive, default=2)
    p.add_argument("--layers-per-block", type=_positive, default=10)
    p.add_argument("--channels", type=_positive, default=32)
    p.add_argument("--batch-size", type=_positive, default=1, help="windows per update")
    p.add_argument("--lr", type=_positive_float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=_positive, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--speaker-labels", metavar="names|CSV",
                   help="global conditioning: 'names' (file name up to its first _ or -) or a "
                        "CSV file with columns file,speaker")
    p.set_defaults(handler=cmd_train)

    p = verbs.add_parser("evaluate", help="bits per sample on audio files beside two baselines")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--wav", nargs="+", required=True, metavar="FILE")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--speaker-labels", metavar="names|CSV", help="as for train")
    p.set_defaults(handler=cmd_evaluate)

    p = verbs.add_parser("generate", help="sample audio from a trained run into a WAV file")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--seconds", type=_positive_float, required=True)
    p.add_argument("--out", required=True, metavar="OUT.wav")
    p.add_argument("--prime", metavar="FILE", help="continue the start of this recording")
    p.add_argument("--temperature", type=_positive_float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--speaker", help="speaker id of a conditioned model")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cpu (the C generation loop) or cuda (one Triton kernel, TF32 products)")
    p.set_defaults(handler=cmd_generate, file_args=("out",))
