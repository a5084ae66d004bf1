import subprocess
import sys

from seqcast.cli import main


def test_info_shows_receptive_field_parameters_and_alignment(capsys):
    assert main(["info", "conv_gru"]) == 0
    out = capsys.readouterr().out
    assert "24 outputs for 50 input steps" in out and "input step 3 + 2 j" in out
    assert "receptive field   4 steps" in out and "recurrent layers see all" in out
    assert main(["info", "wavenet_simple"]) == 0
    out = capsys.readouterr().out
    assert "receptive field   31 steps" in out and "6,010" in out  # 8 convs of 20 + 1x1 to 10
    assert main(["info", "wavenet", "--input-len", "4000"]) == 0
    assert "4000 outputs for 4000 input steps" in capsys.readouterr().out


def test_info_unknown_model_is_one_line_status_2():
    proc = subprocess.run([sys.executable, "-m", "seqcast", "info", "transformer"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "valid models: " in lines[0] and "wavenet" in lines[0]
