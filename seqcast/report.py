"""Tables printed by the CLI (rich)."""

from __future__ import annotations

import statistics


def _fmt(value: float | None, digits: int = 6) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def print_rows(rows) -> None:
    """The reproduce table: id | model | metric | ours | book | ours/book | seconds; with
    several seeds "ours" is their median and a "seeds" column gives their range (the book's
    figures are single runs, and the last epoch's error moves from seed to seed)."""
    from rich.console import Console
    from rich.table import Table

    several = any(len(r.values) > 1 for r in rows)
    title = "seqcast reproduce (validation, last epoch" + (", median over seeds)" if several else ")")
    table = Table(title=title)
    names = ("id", "model", "metric", "ours", *(("seeds",) if several else ()), "book",
             "ours/book", "seconds")
    for name in names:
        table.add_column(name, justify="left" if name in ("id", "model", "metric") else "right")
    for r in rows:
        e = r.experiment
        spread = (f"{_fmt(min(r.values))}-{_fmt(max(r.values))}",) if several else ()
        table.add_row(e.id, e.description, e.metric, _fmt(r.value), *spread, _fmt(e.book),
                      _fmt(r.ratio, 3), f"{statistics.median(r.seconds):.1f}")
    Console(width=180 if several else 160).print(table)


def print_long(results, length: int) -> None:
    """The long-suite table: task | model | ours | memoryless | paper | parameters | seconds."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"seqcast reproduce --suite long (validation, T={length})")
    for name in ("task", "model", "ours", "memoryless", "paper (T)", "parameters", "seconds"):
        table.add_column(name, justify="left" if name in ("task", "model") else "right")
    from .experiments.long import PAPER_LENGTH

    for r in results:
        table.add_row(r.task, r.model, f"{r.value:.3g}", f"{r.baseline:.3g}",
                      f"{r.paper:.3g} ({PAPER_LENGTH[r.task]})", f"{r.parameters:,}",
                      f"{r.seconds:.0f}")
    Console(width=160).print(table)


def print_backtest(result, config) -> None:
    """The backtest table: one row per model, MAE per horizon step, then mean MAE, RMSE, MASE."""
    from rich.console import Console
    from rich.table import Table

    d = config.data
    source = d.path or d.dataset
    table = Table(title=f"seqcast backtest: {source}, {result.origins} forecast origins "
                        f"({result.folds} folds), horizon {result.horizon}")
    steps = list(range(1, result.horizon + 1))
    shown = steps if len(steps) <= 12 else steps[:: max(len(steps) // 8, 1)]
    table.add_column("model", justify="left")
    for name in (*(f"MAE h{h}" for h in shown), "MAE", "RMSE", "MASE", "seconds"):
        table.add_column(name, justify="right")
    for name, s in result.models.items():
        mean = lambda v: sum(v) / len(v)  # noqa: E731
        label = f"{name} (as {s['fallback']})" if "fallback" in s else name
        table.add_row(label, *(f"{s['mae'][h - 1]:.4g}" for h in shown), f"{s['mae_mean']:.4g}",
                      f"{mean(s['rmse']):.4g}", f"{mean(s['mase']):.3f}", f"{s['seconds']:.1f}")
    Console(width=200).print(table)
    rows = [(name, level, sc, s["crps"]) for name, s in result.models.items()
            for level, sc in s.get("intervals", {}).items()]
    if rows:
        table = Table(title="intervals: coverage, mean width and MSIS per level; CRPS")
        for col in ("model", "level", "coverage", "width", "MSIS", "CRPS"):
            table.add_column(col, justify="left" if col == "model" else "right")
        for name, level, sc, crps in rows:
            table.add_row(name, f"{level}%", f"{sc['coverage']:.3f}", f"{sc['width']:.4g}",
                          f"{sc['msis']:.3f}", f"{crps:.4g}")
        Console(width=200).print(table)


def print_bench(result) -> None:
    """The bench table: seconds per epoch and validation pass, ours vs the plain reference."""
    from rich.console import Console
    from rich.table import Table

    c_kernels = "" if result.get("c_kernels", True) else ", no C compiler: LSTMs without C kernels"
    table = Table(title=f"seqcast bench on {result['device']} ({result['threads']} threads"
                        f"{c_kernels}), ours vs plain PyTorch (ratio < 1: faster)")
    for name in ("id", "ours s/epoch", "ref s/epoch", "ratio", "ours s/valid", "ref s/valid",
                 "ratio ", "latency ms", "ref latency ms", "series/s", "peak MB"):
        table.add_column(name, justify="left" if name == "id" else "right")
    for r in result["rows"]:
        table.add_row(r["id"], f"{r['ours_s_per_epoch']:.3f}", f"{r['reference_s_per_epoch']:.3f}",
                      f"{r['ratio']:.2f}", f"{r['ours_s_per_validation']:.3f}",
                      f"{r['reference_s_per_validation']:.3f}", f"{r['validation_ratio']:.2f}",
                      f"{r['latency_ms_one_series']:.2f}", f"{r['reference_latency_ms_one_series']:.2f}",
                      f"{r['throughput_series_per_s']:,.0f}", f"{r['peak_mb']:.0f}")
    console = Console(width=200)
    console.print(table)
    gen = result.get("generation")
    if gen:
        for key, g in gen.items():
            if key.startswith("batch_"):
                console.print(
                    f"WaveNet generation (30 layers, 64 channels, {key.replace('_', ' ')}): "
                    f"cached {g['cached_samples_per_s']:,.0f} samples/s, naive "
                    f"{g['naive_samples_per_s']:,.0f} samples/s, {g['ratio']:.0f}x"
                    + (f" (eager {g['eager_samples_per_s']:,.0f}, CUDA graph "
                       f"{g['graph_samples_per_s']:,.0f}" if "graph_samples_per_s" in g else "")
                    + (f", Triton kernel with TF32 {g['kernel_tf32_samples_per_s']:,.0f}"
                       if "kernel_tf32_samples_per_s" in g else "")
                    + (" samples/s)" if "graph_samples_per_s" in g else "")
                )


def print_search(info: dict) -> None:
    """What ``--model auto`` chose: members with their validation MASE, and the best tried."""
    import sys

    err = sys.stderr
    scores = info.get("ensemble_valid_mase", {})
    others = sum(c["kind"] != "network" for c in info["candidates"])
    scored = sum(c["kind"] == "network" and "error" not in c for c in info["candidates"])
    print(f"auto: {info['network_trials']} network trials ({scored} trained to the end, the"
          f" others pruned or unfit for the data) and {others} other candidates in"
          f" {info['search_seconds']:.1f} s (budget {info['budget_seconds']:g} s), scored on"
          f" {info['validation_origins']} validation origins", file=err)
    if info.get("left_out"):
        young = info["left_out"]
        more, it = (f" and {len(young) - 1} more", "they") if len(young) > 1 else ("", "it")
        print(f"auto: series {young[0]!r}{more} shorter than half the median series: left out"
              f" of the search, so that {it} cannot shrink every window; the chosen models are"
              f" refitted on {'them' if it == 'they' else 'it'} too", file=err)
    for c in info["candidates"]:
        if c.get("error", "").startswith("out of time"):
            print(f"auto: {c['name']} left out: {c['error']} (a larger --budget lets it finish)",
                  file=err)
    if info.get("not_refitted"):
        print(f"auto: {', '.join(info['not_refitted'])} kept as fitted in the search, on the data"
              " before the validation origins (no time left to refit; a larger --budget refits)",
              file=err)
    if info.get("no_time_to_refit"):
        print(f"auto: {', '.join(info['no_time_to_refit'])} chosen but left out: no time left to"
              " refit (a larger --budget keeps it)", file=err)
    asked = info.get("trials_asked")
    if asked and info["network_trials"] < asked:
        print(f"auto: the budget ended the search after {info['network_trials']} of {asked}"
              " network trials; raise --budget for the same search on any machine", file=err)
    if "calibration_origins" in info:
        print(f"auto: conformal intervals calibrated on {info['calibration_origins']} later"
              " validation origins, kept from the choice", file=err)
    elif "calibration" in info:
        print(f"auto: conformal intervals calibrated {info['calibration']}", file=err)
    score = info.get("valid_mase", scores.get(str(len(info["chosen"])), float("nan")))
    print("auto: median of " + ", ".join(m["name"] for m in info["chosen"])
          + f"; validation MASE {score:.4g}"
          + " (members: " + ", ".join(f"{m['valid_mase']:.4g}" for m in info["chosen"]) + ")",
          file=err)
    base = {c["name"]: c["valid_mase"] for c in info["candidates"]
            if c["name"] in ("naive", "seasonal_naive") and "error" not in c}
    if base:
        print("auto: baselines' validation MASE: "
              + ", ".join(f"{k} {v:.4g}" for k, v in base.items()), file=err)
def print_bench_heads(result) -> None:
    """The heads table: CPU seconds per epoch of each head and its ratio to the point model."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"seqcast bench --heads: {result['dataset']}, {result['windows']} windows,"
                        " CPU s/epoch (best of repeats), head / point model")
    for name in ("family", "head", "s/epoch", "point s/epoch", "ratio"):
        table.add_column(name, justify="left" if name in ("family", "head") else "right")
    for r in result["rows"]:
        table.add_row(r["family"], r["head"], f"{r['s_per_epoch']:.3f}",
                      f"{r['point_s_per_epoch']:.3f}", f"{r['ratio']:.2f}")
    Console(width=120).print(table)
