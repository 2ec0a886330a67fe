"""The `fpgaml` command as users run it: bad input gets one line on stderr and exit code 2,
and never a half-written or clobbered output directory."""

from __future__ import annotations

import json
import zipfile

import pytest

from conftest import run_cli


def _assert_one_line_error(proc, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _bad_files(tmp_path, keras_files):
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"\x00\x01 not a zip archive")
    not_keras = tmp_path / "notkeras.keras"
    with zipfile.ZipFile(not_keras, "w") as zf:
        zf.writestr("hello.txt", "hi")
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    return {
        "missing": ([str(tmp_path / "nope.keras")], ["no such model file"]),
        "corrupt": ([str(corrupt)], ["corrupt.keras", "zip"]),
        "zip_not_keras": ([str(not_keras)], ["notkeras.keras", "cannot load Keras model"]),
        "wrong_type": ([str(text)], ["unsupported model file type '.txt'", ".onnx"]),
        "unsupported_layer": ([str(keras_files["unsupported"])], ["'unit_norm'", "UnitNormalization", "Dense"]),
        "lambda_refused": ([str(keras_files["lambda"])], ["safe_mode"]),
        "bad_precision": ([str(keras_files["mlp"]), "--precision", "ap_fixed<16"], ["invalid precision", "ap_fixed<W,I"]),
        "bad_reuse": ([str(keras_files["mlp"]), "--strategy", "resource", "--reuse-factor", "7"],
                      ["reuse factor 7", "'hidden'", "valid values: 1, 2, 4, 8"]),
        "unknown_part": ([str(keras_files["mlp"]), "--part", "xcfoo9"], ["unknown part 'xcfoo9'", "xcu250"]),
        "bad_strategy": ([str(keras_files["mlp"]), "--strategy", "fastest"], ["unknown strategy", "latency"]),
        "no_synth_tool": ([str(keras_files["mlp"]), "--synth"], ["vivado_hls"]),
        "model_and_example": ([str(keras_files["mlp"]), "--example", "jet_tagger"], ["exactly one"]),
        "unknown_example": (["--example", "nope"], ["unknown example 'nope'", "jet_tagger"]),
        "hls4ml_refuses": (["--example", "jet_tagger", "--io", "stream"], ["io=stream", "Heterogenous quantization"]),
        "keras_layernorm": ([str(keras_files["layernorm_axis"])], ["cannot convert 'keras_layernorm'", "axis"]),
    }


CASES = ["missing", "corrupt", "zip_not_keras", "wrong_type", "unsupported_layer", "lambda_refused", "bad_precision",
         "bad_reuse", "unknown_part", "bad_strategy", "no_synth_tool", "model_and_example", "unknown_example",
         "hls4ml_refuses", "keras_layernorm"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_one_line_exit_2_no_output(case, tmp_path, keras_files):
    args, fragments = _bad_files(tmp_path, keras_files)[case]
    out = tmp_path / "out"
    proc = run_cli("build", *args, "-o", out)
    _assert_one_line_error(proc, *fragments)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if "fpgaml-partial" in p.name]


def test_existing_output_needs_force(tmp_path, keras_files):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    proc = run_cli("build", keras_files["mlp"], "-o", out)
    _assert_one_line_error(proc, "--force")
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_failed_build_leaves_existing_output_untouched(tmp_path, keras_files):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    proc = run_cli("build", keras_files["unsupported"], "-o", out, "--force")
    _assert_one_line_error(proc, "UnitNormalization")
    assert (out / "mine.txt").read_text() == "keep me"


def test_build_example_prints_summary_and_writes_report(tmp_path):
    out = tmp_path / "jet"
    proc = run_cli("build", "--example", "jet_tagger", "-o", out, "--reuse-factor", "2", "--part", "xcu250")
    assert proc.returncode == 0, proc.stderr
    assert "bit_exact" in proc.stdout and "true" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["csim"]["bit_exact"] is True
    assert report["config"]["part"] == "xcu250-figd2104-2L-e" and report["config"]["reuse_factor"] == 2


def test_examples_lists_the_zoo():
    proc = run_cli("examples")
    assert proc.returncode == 0
    assert "jet_tagger" in proc.stdout and "muon_tracker" in proc.stdout


def _predict_json(*args: str) -> dict:
    proc = run_cli("predict", *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_predict_gives_six_targets_with_intervals_and_dsp_falls_with_reuse(keras_files):
    targets = {"lut", "ff", "dsp", "bram", "latency_cycles", "ii"}
    jet = _predict_json("--example", "jet_tagger", "--reuse-factor", "1")
    assert set(jet["estimates"]) == targets
    for value in jet["estimates"].values():
        assert value["low"] <= value["value"] <= value["high"]
    assert jet["ood"] is True and "latency" in jet["ood_reason"]
    jet4 = _predict_json("--example", "jet_tagger", "--reuse-factor", "4")
    assert jet["estimates"]["dsp"]["value"] > jet4["estimates"]["dsp"]["value"] > 0
    # the open RTL flow's circuit: the open-flow weights; latency is the stage count + 1
    rtl = _predict_json("--example", "tiny_mlp", "--pipeline-stages", "3")
    assert "open RTL flow, 3 stages" in rtl["config"]["strategy"] and rtl["estimates"]["dsp"]["value"] == 0
    assert rtl["estimates"]["latency_cycles"]["value"] == 4 and rtl["estimates"]["ii"]["value"] == 1
    proc = run_cli("predict", "--example", "tiny_mlp", "--pipeline-stages", "3", "--reuse-factor", "4")
    assert proc.returncode == 2 and "fully parallel" in proc.stderr
    rf1 = _predict_json(str(keras_files["mlp"]), "--reuse-factor", "1")["estimates"]
    rf4 = _predict_json(str(keras_files["mlp"]), "--reuse-factor", "4")["estimates"]
    assert rf1["dsp"]["value"] > rf4["dsp"]["value"] > 0
    assert rf4["ii"]["value"] >= rf1["ii"]["value"]
