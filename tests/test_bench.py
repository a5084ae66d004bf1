import json

from seqcast.bench import bench, generation
from seqcast.cli import main


def test_bench_reports_ratios_against_the_reference():
    result = bench(["linear_1", "seq2seq_lstm"], device="cpu", repeats=1)
    assert [r["id"] for r in result["rows"]] == ["linear_1", "seq2seq_lstm"]
    for row in result["rows"]:
        assert row["ours_s_per_epoch"] > 0 and row["reference_s_per_epoch"] > 0
        assert abs(row["ratio"] - row["ours_s_per_epoch"] / row["reference_s_per_epoch"]) < 1e-9
        assert row["peak_mb"] > 0 and row["throughput_series_per_s"] > 0


def test_generation_figures_are_consistent():
    gen = generation(device="cpu", batches=(2,), steps=5, naive_steps=1)
    g = gen["batch_2"]
    assert gen["receptive_field"] > 3000 and g["cached_samples_per_s"] > 0
    assert abs(g["ratio"] - g["cached_samples_per_s"] / g["naive_samples_per_s"]) < 1e-9


def test_bench_cli_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", "linear_10", "--repeats", "1", "--no-generation",
                 "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert {"rows", "device"} <= set(data)
    assert {"id", "ours_s_per_epoch", "reference_s_per_epoch", "ratio", "peak_mb"} <= set(data["rows"][0])
    assert "ours vs plain PyTorch" in capsys.readouterr().out
