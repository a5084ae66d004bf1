"""CLI verbs for deployment: ``export`` (a run as one ONNX file, used without seqcast) and
``bench --predict`` (forecast latency and throughput).
"""

from __future__ import annotations

import sys

from ..outputs import write_text


def cmd_export(args) -> int:
    import json

    from ..runs import export

    path = export(args.run, args.out, args.format, args.horizon, args.level)
    import onnx  # the metadata is read back from the file as a caller would

    meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    inputs = json.loads(meta["inputs"])[2:]
    print(f"{path}: history ({meta['history_len']} steps), series (one of"
          f" {len(json.loads(meta['series_ids']))}){''.join(', ' + i for i in inputs)} ->"
          f" {', '.join(json.loads(meta['outputs']))} ({meta['horizon']} steps)", file=sys.stderr)
    return 0


def cmd_bench_predict(args) -> int:
    """``seqcast bench --predict``: forecast latency and throughput (``--only`` picks models)."""
    import json

    models = args.only or ["gru", "lstm", "rnn"]
    for m in models:  # before torch is imported
        if m not in ("gru", "lstm", "rnn"):
            raise ValueError(f"unknown model {m!r} for --predict; valid: gru, lstm, rnn")
    import torch

    from ..forecasting.bench_predict import bench_predict, table

    torch.set_num_threads(args.threads)
    result = bench_predict(models, on_row=lambda r: print(
        f"{r['model']}: predict/eager p50 {r['predict_over_eager_p50']:.2f}", file=sys.stderr,
        flush=True))
    print(table(result))
    if args.json:
        write_text(args.json, json.dumps(result, indent=2))
    return 0


def add_parser(sub) -> None:
    """Add ``export`` to the ``seqcast`` subcommand parser."""
    from .series_args import _levels, _positive

    p = sub.add_parser("export", help="write a run as one ONNX file (scaling and strategy inside)")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--format", default="onnx", choices=["onnx"], help="file format (onnx)")
    p.add_argument("--out", required=True, metavar="FILE.onnx", help="file to write")
    p.add_argument("--horizon", type=_positive,
                   help="steps per forecast (default: the trained horizon; more only if iterative)")
    p.add_argument("--level", type=_levels, default=(), metavar="L,...",
                   help="interval levels in percent (runs with --intervals conformal,"
                        " --quantiles or --likelihood): adds lo-L,hi-L outputs")
    p.set_defaults(handler=cmd_export, file_args=("out",))
