import json
import subprocess
import sys

import pytest

from seqcast.cli import main


def test_reproduce_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["reproduce", "--only", "naive_1,linear_1,iterative_10", "--epochs", "1",
               "--seeds", "2", "--device", "cpu", "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    for column in ("id", "ours", "book", "ours/book", "seconds"):
        assert column in printed
    results = json.loads((out / "results.json").read_text())
    assert {"rows", "torch", "seqcast"} <= set(results)
    rows = {r["id"]: r for r in results["rows"]}
    assert list(rows) == ["naive_1", "linear_1", "iterative_10"]
    for row in rows.values():
        assert {"id", "metric", "value", "values", "book", "seconds", "epochs", "device"} <= set(row)
        assert len(row["values"]) == 2 and row["device"] == "cpu"
    assert rows["naive_1"]["values"][0] == pytest.approx(0.020211, abs=1e-5)
    assert rows["linear_1"]["epochs"] == 1 and rows["linear_1"]["seconds"] > 0
    assert (out / "learning_curves.png").stat().st_size > 0
    assert (out / "forecast_iterative_10.png").stat().st_size > 0
    values = rows["linear_1"]["values"]  # two seeds: the table shows their range
    assert "seeds" in printed and f"{min(values):.6f}-{max(values):.6f}" in printed


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["reproduce", "--only", "nope"], "valid ids: naive_1"),
        (["reproduce", "--epochs", "0"], "positive integer"),
        (["reproduce", "--device", "tpu"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
        # a flag the verb does not take: named, with its own flags that look like it
        (["train", "--data", "x.csv", "--covariates", "promo"],
         "train: unrecognized arguments: --covariates promo (did you mean --past-covariates"),
        (["forecast", "runs/x", "--levle=80"], "forecast: unrecognized arguments: --levle=80"
         " (did you mean --level?)"),
        (["audio", "generate", "runs/x", "--seconds", "1", "--out", "o.wav", "--temprature", "1"],
         "audio generate: unrecognized arguments: --temprature 1 (did you mean --temperature?)"),
        (["train", "--data", "x.csv", "stray"], "train: unrecognized arguments: stray"),
    ],
)
def test_bad_arguments_give_one_line_and_status_2(argv, needle, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "seqcast", *argv, "--out", str(tmp_path / "x")]
                          if argv[0] == "reproduce" else [sys.executable, "-m", "seqcast", *argv],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqcast: error:") and needle in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()


def test_help_does_not_import_torch():
    code = "import sys; from seqcast.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"


@pytest.mark.parametrize("argv", [["reproduce", "--only", "nope"], ["bench", "--only", "nope"],
                                  ["reproduce", "--epochs", "0"], ["train", "--model"]])
def test_argument_errors_do_not_import_torch(argv):
    code = ("import sys\nfrom seqcast.cli import main\ntry:\n    code = main(sys.argv[1:])\n"
            "except SystemExit as stop:\n    code = stop.code\nprint(code, 'torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    assert proc.stdout.strip() == "2 False", proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_closed_pipe_ends_quietly():
    """`seqcast forecast ... | head -1`: the reader leaves early; no traceback, SIGPIPE status."""
    code = (
        "import sys, types\n"
        "from seqcast.cli import app as cli\n"
        "def handler(args):\n"
        "    for _ in range(20000):\n"
        "        print('x' * 80)\n"
        "    return 0\n"
        "cli.build_parser = lambda: types.SimpleNamespace(\n"
        "    parse_known_args=lambda argv: (types.SimpleNamespace(handler=handler), []))\n"
        "sys.exit(cli.main([\"forecast\"]))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""


def test_seqcast_alone_lists_its_commands(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: seqcast") and "forecast" in err and "backtest" in err


@pytest.mark.parametrize("error,needle", [
    (RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't"
                  " allocate memory: you tried to allocate 160000000000 bytes."), "for 160.0 GB"),
    (MemoryError(), "not enough memory: smaller settings"),
])
def test_running_out_of_memory_is_one_line_and_status_2(monkeypatch, capsys, error, needle):
    import seqcast.cli.app as app

    def handler(args):
        raise error

    parser = app.build_parser()
    monkeypatch.setattr(app, "build_parser", lambda: parser)
    parser.set_defaults(handler=handler)
    for sub in parser._subparsers._group_actions[0].choices.values():
        sub.set_defaults(handler=handler)
    assert main(["datasets"]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.startswith("seqcast: error: not enough memory") and \
        err.count("\n") == 1


def test_other_runtime_errors_are_not_hidden(monkeypatch):
    import seqcast.cli.app as app

    parser = app.build_parser()
    monkeypatch.setattr(app, "build_parser", lambda: parser)
    for sub in parser._subparsers._group_actions[0].choices.values():
        sub.set_defaults(handler=lambda args: (_ for _ in ()).throw(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):
        main(["datasets"])
