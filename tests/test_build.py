"""End-to-end builds through the Python API: real hls4ml projects, real g++ C-simulation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

import fpgaml

REPORT_KEYS = {"fpgaml_version", "hls4ml_version", "model", "config", "csim", "timing"}


@pytest.fixture(scope="module")
def jet_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("jet") / "prj"
    return fpgaml.build(fpgaml.example("jet_tagger"), out)


def test_jet_tagger_is_bit_exact_and_reported(jet_build):
    out = jet_build.output_dir
    report = json.loads((out / "report.json").read_text())
    assert REPORT_KEYS <= set(report)
    assert report["csim"] == {"n_samples": 1000, "bit_exact": True, "max_abs_diff": 0.0, "argmax_agreement": 1.0}
    assert report["model"]["source_format"] == "hgq2"
    assert report["model"]["n_params"] > 2000
    dense = [layer for layer in report["model"]["layers"] if layer["class"] == "Dense"]
    assert [layer["output_shape"] for layer in dense] == [[64], [32], [32], [5]]
    assert all({"name", "class", "input_shape", "output_shape", "precision", "reuse_factor"} <= set(layer)
               for layer in report["model"]["layers"])
    assert report["config"] == {"part": "xcvu13p-flga2577-2-e", "backend": "vivado", "strategy": "latency",
                                "io_type": "io_parallel", "precision": "ap_fixed<16,6>", "reuse_factor": 1,
                                "clock_period": 5.0}
    assert {"convert_s", "write_s", "compile_s"} <= set(report["timing"])
    estimate = report["estimate"]["estimates"]
    assert set(estimate) == {"lut", "ff", "dsp", "bram", "latency_cycles", "ii"}
    assert estimate["lut"]["value"] > 0 and estimate["latency_cycles"]["value"] >= 1
    assert "bit-exact" in (out / "report.md").read_text()


def test_project_is_complete_and_points_at_its_final_place(jet_build):
    out = jet_build.output_dir
    for name in ("build_prj.tcl", "firmware/myproject.cpp", "firmware/parameters.h", "myproject_test.cpp"):
        assert (out / name).is_file(), name
    hls_cfg = yaml.safe_load((out / "hls4ml_config.yml").read_text().replace("!keras_model", ""))
    assert hls_cfg["OutputDir"] == str(out.resolve())
    assert hls_cfg["Part"] == "xcvu13p-flga2577-2-e"
    assert not [p for p in out.parent.iterdir() if "fpgaml-partial" in p.name]


def test_the_compiled_model_stays_usable(jet_build):
    x = np.random.default_rng(3).uniform(-2, 2, size=(50, 16)).astype(np.float32)
    ref = jet_build.loaded.predict(x)
    assert np.array_equal(ref, np.asarray(jet_build.hls_model.predict(x), dtype=np.float64).reshape(ref.shape))


def test_muon_tracker_conv1d_is_bit_exact(tmp_path):
    result = fpgaml.build(fpgaml.example("muon_tracker"), tmp_path / "muon", n_samples=300)
    assert result.bit_exact is True
    classes = {layer["class"] for layer in result.report["model"]["layers"]}
    assert {"Conv1D", "Pooling1D", "Dense"} <= classes


def test_softmax_after_auto_precision_is_not_constant(tmp_path):
    """hls4ml 1.3 gives a constant softmax output after an `auto` result precision."""
    import keras

    keras.utils.set_random_seed(2)
    inp = keras.Input((10,))
    h = keras.layers.Dense(16, activation="relu")(inp)
    out = keras.layers.Activation("softmax")(keras.layers.Dense(4)(h))
    model = keras.Model(inp, out, name="softmax_net")
    result = fpgaml.build(model, tmp_path / "sm", n_samples=400)
    assert result.report["model"]["source_format"] == "keras"
    x = np.random.default_rng(0).uniform(-4, 4, size=(200, 10)).astype(np.float32)
    y = np.asarray(result.hls_model.predict(x)).reshape(200, 4)
    assert y.std(axis=0).min() > 1e-3, "softmax output is constant"
    assert result.csim["argmax_agreement"] >= 0.95
    assert result.csim["max_abs_diff"] < 0.25  # table-based exp and inverse at 18 bits


def test_user_inputs_and_config_file(tmp_path, keras_files):
    x = np.random.default_rng(5).normal(size=(37, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    cfg = tmp_path / "build.yml"
    cfg.write_text(yaml.safe_dump({"reuse_factor": 4, "strategy": "resource", "part": "xczu7ev",
                                   "HLSConfig": {"LayerName": {"hidden": {"ReuseFactor": 2}}}}))
    result = fpgaml.build(keras_files["mlp"], tmp_path / "out", inputs=tmp_path / "x.npy", config_file=cfg,
                          clock_period=4.0)
    assert result.csim["n_samples"] == 37
    assert result.report["config"]["reuse_factor"] == 4
    assert result.report["config"]["part"] == "xczu7ev-ffvc1156-2-e"
    assert result.report["config"]["clock_period"] == 4.0
    rf = {layer["name"]: layer["reuse_factor"] for layer in result.report["model"]["layers"]}
    assert rf["hidden"] == 2 and rf["out"] == 4
    assert result.csim["argmax_agreement"] >= 0.9


def test_io_stream_build(tmp_path, keras_files):
    result = fpgaml.build(keras_files["mlp"], tmp_path / "stream", io="stream", n_samples=200)
    assert result.report["config"]["io_type"] == "io_stream"
    assert result.csim["argmax_agreement"] >= 0.9 and result.csim["max_abs_diff"] < 0.1


def test_force_replaces_an_existing_project(tmp_path, keras_files):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(fpgaml.UserError, match="--force"):
        fpgaml.build(keras_files["mlp"], out)
    assert (out / "old.txt").read_text() == "old"
    fpgaml.build(keras_files["mlp"], out, force=True, csim=False)
    assert not (out / "old.txt").exists() and (out / "report.json").exists()
    assert json.loads((out / "report.json").read_text())["csim"] is None


def test_qkeras_h5_file_builds_bit_exact(tmp_path):
    """A real QKeras 0.9 .h5 (tests/fixtures/make_qkeras_fixture.py) through the whole build."""
    from conftest import FIXTURES

    io = np.load(FIXTURES / "qkeras_mlp_io.npz")
    np.save(tmp_path / "x.npy", io["x"])
    result = fpgaml.build(FIXTURES / "qkeras_mlp.h5", tmp_path / "qk", inputs=tmp_path / "x.npy")
    assert result.report["model"]["source_format"] == "qkeras-h5"
    assert result.csim["bit_exact"] is True and result.csim["n_samples"] == len(io["x"])
    hls_out = np.asarray(result.hls_model.predict(io["x"]), dtype=np.float64).reshape(io["y"].shape)
    assert np.array_equal(hls_out, io["y"].astype(np.float64))


def test_onnx_and_qonnx_files_build(tmp_path):
    """ONNX (float, tolerance) and QONNX (Quant nodes, bit-exact) files through the whole build."""
    import onnx
    from onnx_torch_models import plain_onnx_mlp, qonnx_mlp

    onnx.save(plain_onnx_mlp(), tmp_path / "mlp.onnx")
    onnx.save(qonnx_mlp(), tmp_path / "qmlp.onnx")
    plain = fpgaml.build(tmp_path / "mlp.onnx", tmp_path / "plain", n_samples=300)
    assert plain.report["model"]["source_format"] == "onnx"
    assert plain.csim["argmax_agreement"] >= 0.95 and plain.csim["max_abs_diff"] < 0.25
    quant = fpgaml.build(tmp_path / "qmlp.onnx", tmp_path / "quant", n_samples=300)
    assert quant.report["model"]["source_format"] == "qonnx"
    assert quant.csim["bit_exact"] is True


def test_pytorch_factory_file_builds(tmp_path):
    """PyTorch as its users hand it over: `file.py:factory`, channels-first Conv1d."""
    from onnx_torch_models import CONV1D_FILE

    source = tmp_path / "net.py"
    source.write_text(CONV1D_FILE)
    result = fpgaml.build(f"{source}:make_net", tmp_path / "torch", n_samples=200)
    assert result.report["model"]["source_format"] == "pytorch"
    assert result.csim["argmax_agreement"] >= 0.95 and result.csim["max_abs_diff"] < 0.25
    assert any(layer["class"].startswith("Conv1D") for layer in result.report["model"]["layers"])
