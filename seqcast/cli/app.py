"""Command line: each verb parses its arguments and calls one API function.

Heavy imports (torch, pandas) happen inside the handlers so ``--help`` answers at once.
User mistakes print one line ``seqcast: error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from ..outputs import write_text
from .series_args import _positive


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, status 2, no usage dump
        self.exit(2, f"seqcast: error: {self.prog.removeprefix('seqcast').strip() or 'usage'}: {message}\n")


def _ids(text: str) -> list[str]:
    ids = [i.strip() for i in text.split(",") if i.strip()]
    if not ids:
        raise argparse.ArgumentTypeError("expected a comma-separated list of ids")
    return ids


def cmd_reproduce(args) -> int:
    if args.suite == "long":
        return _reproduce_long(args)
    if args.length is not None:
        raise ValueError("--length applies to --suite long only")
    from ..experiments.table import select

    select(args.only)  # unknown ids fail before torch is even imported
    from ..experiments.runner import reproduce
    from ..report import print_rows

    rows = reproduce(
        args.only, epochs=args.epochs, seeds=args.seeds, device=args.device, out=args.out,
        on_row=lambda r: print(
            f"{r.experiment.id}: {r.value:.6f} ({sum(r.seconds):.1f} s)", file=sys.stderr, flush=True
        ),
    )
    print_rows(rows)
    if args.out:
        print(f"results and figures written to {args.out}", file=sys.stderr)
    return 0


def _reproduce_long(args) -> int:
    from ..experiments.long import LongSizes, run_long_suite, write_long
    from ..report import print_long

    if args.only:
        raise ValueError("--only selects rows of the chapter suite; --suite long runs all")
    sizes = LongSizes(length=args.length) if args.length else LongSizes()
    results = run_long_suite(sizes, on_result=lambda r: print(
        f"{r.task} {r.model}: {r.value:.4g} ({r.seconds:.0f} s)", file=sys.stderr, flush=True))
    print_long(results, sizes.length)
    if args.out:
        write_long(results, sizes, args.out)
        print(f"results written to {args.out}/long.json", file=sys.stderr)
    return 0


def cmd_info(args) -> int:
    from ..config import ModelConfig
    from ..experiments.table import EXPERIMENTS
    from ..models import MODELS
    from ..models.info import model_info

    if args.model in EXPERIMENTS:
        cfg, what = EXPERIMENTS[args.model].model, EXPERIMENTS[args.model].description
    elif args.model in MODELS:
        cfg, what = ModelConfig(name=args.model), f"{args.model} with default settings"
    else:
        raise ValueError(f"unknown model or experiment {args.model!r}; valid models: "
                         f"{', '.join(MODELS)}; valid experiments: {', '.join(EXPERIMENTS)}")
    info = model_info(cfg, args.input_len)
    a, field = info["alignment"], info["receptive_field"]
    print(f"{args.model}: {what}")
    print(f"  parameters        {info['parameters']:,}")
    if field is None:
        print("  receptive field   every earlier step")
    else:
        print(f"  receptive field   {field} steps")
        if info["recurrent"]:
            print(" " * 20 + "(of the convolutions; recurrent layers see all earlier steps)")
    print(f"  output alignment  {a['length']} outputs for {info['input_len']} input steps;"
          f" output j answers to input step {a['offset']} + {a['stride']} j")
    return 0


def cmd_bench(args) -> int:
    import json

    if args.predict:
        from .export import cmd_bench_predict

        return cmd_bench_predict(args)
    from ..experiments.table import select

    select(args.only)  # unknown ids fail before torch is even imported
    import torch

    from ..bench import bench, generation
    from ..report import print_bench

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.heads:  # distribution heads vs the point model, on a bundled series
        from ..forecasting.bench_heads import bench_heads
        from ..report import print_bench_heads

        result = bench_heads(on_row=lambda r: print(f"{r['id']}: head/point {r['ratio']:.2f}",
                                                    file=sys.stderr, flush=True))
        print_bench_heads(result)
        if args.json:
            write_text(args.json, json.dumps(result, indent=2))
        return 0
    result = bench(args.only, device=args.device, repeats=args.repeats,
                   on_row=lambda r: print(f"{r['id']}: ours/reference {r['ratio']:.2f}",
                                          file=sys.stderr, flush=True))
    if not args.no_generation:
        result["generation"] = generation(device=args.device)
    print_bench(result)
    if args.json:
        write_text(args.json, json.dumps(result, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(prog="seqcast", description="Learn from sequences with RNNs and CNNs.")
    parser.add_argument("--version", action="version", version=f"seqcast {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("reproduce", help="train the chapter's experiments and compare with the book")
    p.add_argument("--only", type=_ids, help="comma-separated experiment ids (default: all)")
    p.add_argument("--epochs", type=_positive, default=20, help="epochs per model (default 20)")
    p.add_argument("--seeds", type=_positive, default=1, help="seeds 0..K-1; the median is reported")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--out", default="results", help="folder for results.json and figures")
    p.add_argument("--suite", default="chapter", choices=["chapter", "long"],
                   help="chapter: the chapter's rows; long: adding and copy-memory tasks")
    p.add_argument("--length", type=_positive, default=None,
                   help="sequence length T for --suite long (default 60)")
    p.set_defaults(handler=cmd_reproduce)

    p = sub.add_parser("info", help="receptive field, parameters and output alignment of a model")
    p.add_argument("model", help="a model name (e.g. wavenet) or an experiment id (e.g. conv_gru)")
    p.add_argument("--input-len", type=_positive, default=None,
                   help="input steps for the alignment (default: the model's input_len, 50)")
    p.set_defaults(handler=cmd_info)

    p = sub.add_parser("bench", help="training and inference speed, ours vs plain PyTorch")
    p.add_argument("--only", type=_ids, help="comma-separated experiment ids (default: all)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--repeats", type=_positive, default=2, help="epochs timed per side (best kept)")
    p.add_argument("--threads", type=_positive, default=1, help="torch CPU threads for both sides")
    p.add_argument("--no-generation", action="store_true", help="skip the WaveNet generation figures")
    p.add_argument("--heads", action="store_true",
                   help="instead: epoch CPU time with quantile/normal/Student-t heads vs point models")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--predict", action="store_true",
                   help="forecast latency and throughput instead (--only: gru,lstm,rnn)")
    p.set_defaults(handler=cmd_bench)

    from .series_args import add_parsers

    add_parsers(sub)  # train, forecast, backtest, datasets, inspect
    from .export import add_parser as add_export

    add_export(sub)
    from .audio import add_parsers as add_audio_parsers

    add_audio_parsers(sub)  # audio train, evaluate, generate
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):  # `seqcast` alone: what it can do
        parser.print_help(sys.stderr)
        return 2
    args, extra = parser.parse_known_args(argv)
    if extra:
        _unknown(parser, args, extra)
    try:
        from ..outputs import check_outputs

        check_outputs(args)  # before any work: a long run does not end on a missing folder
        return args.handler(args)
    except BrokenPipeError:  # `seqcast forecast ... | head`: the reader left; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail
        return 128 + 13  # what a shell reports for a process ended by SIGPIPE
    except (ValueError, OSError) as exc:
        if os.environ.get("SEQCAST_DEBUG"):
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"seqcast: error: {message}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as exc:  # torch's CPU and CUDA allocators say so
        text = str(exc)
        if not (isinstance(exc, MemoryError) or "can't allocate memory" in text
                or "out of memory" in text.lower()) or os.environ.get("SEQCAST_DEBUG"):
            raise
        tried = re.search(r"allocate (\d+) bytes|Tried to allocate ([\d.]+ \w+)", text)
        size = "" if tried is None else f" for {_size(tried)}"
        print(f"seqcast: error: not enough memory{size}: smaller settings (model size, batch,"
              " window, rate) or less data need less", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"seqcast: {exc or 'interrupted'}", file=sys.stderr)
        return 130


def _unknown(parser, args, extra: list[str]) -> None:
    """Exit with one line naming the arguments the verb does not take, and the flags of its
    own that look like them."""
    import difflib

    names, verb = [], parser
    for dest in ("command", "audio_command"):
        chosen = getattr(args, dest, None)
        subs = [a for a in verb._actions if isinstance(a, argparse._SubParsersAction)]
        if chosen is None or not subs:
            break
        verb, names = subs[0].choices[chosen], [*names, chosen]
    flags = [o for a in verb._actions for o in a.option_strings if o.startswith("--")]
    like = []
    for token in extra:
        word = token.split("=", 1)[0]
        if word.startswith("--"):
            like += [f for f in difflib.get_close_matches(word, flags, n=3, cutoff=0.7)
                     if f not in like]
    hint = f" (did you mean {' or '.join(like)}?)" if like else ""
    verb.exit(2, f"seqcast: error: {' '.join(names) or 'usage'}: unrecognized arguments:"
                 f" {' '.join(extra)}{hint}\n")


def _size(match) -> str:
    """The allocation a memory error names: bytes as GB, or torch's own wording."""
    return f"{int(match[1]) / 1e9:.1f} GB" if match[1] else match[2]
