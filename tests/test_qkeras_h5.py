"""QKeras 0.9 `.h5` frontend: the rebuilt model and its C-simulation equal real QKeras bit for bit.

The fixture (tests/fixtures/qkeras_mlp.h5 + qkeras_mlp_io.npz) was written by real QKeras 0.9
under TF 2.14 (see tests/fixtures/make_qkeras_fixture.py); QKeras itself is not installed here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from fpgaml.compiler.errors import UserError
from fpgaml.compiler.frontends.qkeras_h5 import is_keras2_h5, load_qkeras_h5

FIXTURES = Path(__file__).resolve().parent / "fixtures"
H5 = FIXTURES / "qkeras_mlp.h5"


@pytest.fixture(scope="module")
def qkeras_io() -> tuple[np.ndarray, np.ndarray]:
    data = np.load(FIXTURES / "qkeras_mlp_io.npz")
    return data["x"], data["y"]


@pytest.fixture(scope="module")
def model():
    return load_qkeras_h5(H5)


def _rewrite_config(tmp_path: Path, edit) -> Path:
    """A copy of the fixture whose model_config JSON went through ``edit``."""
    path = tmp_path / "edited.h5"
    shutil.copy(H5, path)
    with h5py.File(path, "r+") as f:
        arch = json.loads(f.attrs["model_config"])
        edit(arch["config"]["layers"])
        f.attrs["model_config"] = json.dumps(arch)
    return path


def test_sniff(tmp_path: Path) -> None:
    assert is_keras2_h5(H5)
    assert not is_keras2_h5(FIXTURES / "qkeras_mlp_io.npz")
    assert not is_keras2_h5(tmp_path / "missing.h5")
    weights_only = tmp_path / "weights.h5"
    with h5py.File(weights_only, "w") as f:
        f.create_dataset("w", data=np.zeros(3))
    assert not is_keras2_h5(weights_only)
    with pytest.raises(UserError, match="not a Keras 2 HDF5 model"):
        load_qkeras_h5(weights_only)


def test_predict_equals_qkeras(model, qkeras_io) -> None:
    x, y = qkeras_io
    got = model.predict(x, verbose=0, batch_size=len(x))
    np.testing.assert_array_equal(got, y)  # exact, not allclose


def test_csim_equals_qkeras(model, qkeras_io, tmp_path: Path) -> None:
    import hls4ml

    x, y = qkeras_io
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado")
    hls_model = hls4ml.converters.convert_from_keras_model(
        model, hls_config=config, output_dir=str(tmp_path / "prj"), backend="Vivado", io_type="io_parallel"
    )
    hls_model.compile()
    got = hls_model.predict(np.ascontiguousarray(x, dtype=np.float32))
    np.testing.assert_array_equal(np.asarray(got, dtype=np.float32).reshape(y.shape), y)


def test_unsupported_layer_is_one_line_user_error(tmp_path: Path) -> None:
    def to_conv(layers: list) -> None:
        layers[1]["class_name"] = "QConv2DBatchnorm"

    with pytest.raises(UserError) as err:
        load_qkeras_h5(_rewrite_config(tmp_path, to_conv))
    msg = str(err.value)
    assert "\n" not in msg and "qdense_1" in msg and "QConv2DBatchnorm" in msg and "QDense" in msg


def test_unsupported_quantizer_is_one_line_user_error(tmp_path: Path) -> None:
    def auto_po2(layers: list) -> None:
        layers[3]["config"]["kernel_quantizer"]["config"]["alpha"] = "auto_po2"

    with pytest.raises(UserError) as err:
        load_qkeras_h5(_rewrite_config(tmp_path, auto_po2))
    msg = str(err.value)
    assert "\n" not in msg and "qdense_2" in msg and "auto_po2" in msg and "quantized_bits" in msg


def test_unsupported_activation_string(tmp_path: Path) -> None:
    def leaky(layers: list) -> None:
        layers[2]["config"]["activation"] = "quantized_relu(6,2,0,0.25)"

    with pytest.raises(UserError, match=r"qrelu_1.*QActivation.*quantized_relu"):
        load_qkeras_h5(_rewrite_config(tmp_path, leaky))
