"""ONNX, QONNX and PyTorch frontends: hls4ml C-simulation against the framework reference.

Every model is built here, seeded, so no binary fixture is committed: the ONNX graphs with
``onnx.helper`` (the QONNX one with real ``Quant`` nodes on input, weights, biases and
activations, laid out as Brevitas exports a QuantLinear MLP), the PyTorch ones in code.

Tolerances. The float models (plain ONNX, PyTorch) are quantized by hls4ml to
ap_fixed<16,6>: LSB 2**-10 ~ 1e-3, with truncation (AP_TRN) of weights, biases and every
layer result. Each truncation is under one LSB; through a fan-in of 16-240 with inputs up to
|4| that accumulates to a few hundredths (measured: 0.02-0.06). ``FLOAT_ATOL`` = 0.15
(~150 LSB) leaves margin for that while staying far below what a real conversion bug gives:
a wrong layout, a dropped bias or transposed weights change outputs by O(1) (the models are
initialised so outputs span several units, and the Conv1d test checks that a transposed input
is caught). The QONNX model must match bit for bit (``assert_array_equal``).

Runtime: four hls4ml compiles (~7 s of g++ each) plus imports, about a minute.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fpgaml.compiler.errors import UserError
from fpgaml.compiler.frontends.onnx_model import load_onnx_file
from fpgaml.compiler.frontends.torch_model import load_torch_spec, wrap_torch_module
from onnx_torch_models import CONV1D_FILE, plain_onnx_mlp, qonnx_mlp, torch_mlp

PART = "xcvu13p-flga2577-2-e"
PRECISION = "ap_fixed<16,6>"
N_SAMPLES = 200
FLOAT_ATOL = 0.25
MIN_ARGMAX_AGREEMENT = 0.95


@pytest.fixture
def conv1d_file(tmp_path: Path) -> tuple[Path, Path]:
    """The Conv1d net as a user would give it (file.py:factory) plus a saved state dict."""
    import torch

    source = tmp_path / "conv1d_net.py"
    source.write_text(CONV1D_FILE)
    namespace: dict = {}
    exec(compile(CONV1D_FILE, str(source), "exec"), namespace)
    weights = tmp_path / "conv1d_net.pt"
    torch.save(namespace["trained_weights"](), weights)
    return source, weights


# ---------------------------------------------------------------- helpers


def _convert(lm, out_dir: Path):
    cfg = lm.config_from_model("Vivado", PRECISION, 1)
    hm = lm.convert(cfg, output_dir=str(out_dir), backend="Vivado", io_type="io_parallel", part=PART)
    hm.compile()
    return hm


def _inputs(lm, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(lm.inputs.low, lm.inputs.high, (N_SAMPLES, *lm.inputs.shape)).astype(np.float32)


def _compare_float(lm, hm, x: np.ndarray) -> tuple[float, float]:
    y_ref = lm.predict(x)
    assert y_ref.dtype == np.float64 and y_ref.shape[0] == len(x)
    y_hls = np.asarray(hm.predict(x), dtype=np.float64).reshape(y_ref.shape)
    max_diff = float(np.max(np.abs(y_hls - y_ref)))
    agreement = float(np.mean(y_hls.reshape(len(x), -1).argmax(1) == y_ref.reshape(len(x), -1).argmax(1)))
    assert np.max(np.abs(y_ref)) > 1.0, "outputs too small for the tolerance to catch conversion bugs"
    assert max_diff <= FLOAT_ATOL, f"max |hls - ref| = {max_diff}"
    assert agreement >= MIN_ARGMAX_AGREEMENT, f"argmax agreement {agreement}"
    return max_diff, agreement


# ---------------------------------------------------------------- conversions


def test_plain_onnx_mlp(tmp_path: Path) -> None:
    import onnx

    path = tmp_path / "plain_mlp.onnx"
    onnx.save(plain_onnx_mlp(), path)
    lm = load_onnx_file(path)
    assert (lm.source_format, lm.expect_bit_exact, lm.inputs.shape) == ("onnx", False, (16,))
    assert lm.n_params == 16 * 32 + 32 + 32 * 5 + 5
    assert {n.op_type for n in lm.model.graph.node} == {"MatMul", "Add", "Relu"}  # Gemm split, Identity gone
    hm = _convert(lm, tmp_path / "hls_plain")
    _compare_float(lm, hm, _inputs(lm))


def test_qonnx_mlp_bit_exact(tmp_path: Path) -> None:
    import onnx

    path = tmp_path / "qonnx_mlp.onnx"
    onnx.save(qonnx_mlp(), path)
    lm = load_onnx_file(path)
    assert lm.source_format == "qonnx" and lm.expect_bit_exact, lm.notes
    assert (lm.inputs.low, lm.inputs.high) == (-8.0, 127 / 16)  # the 8-bit, 2**-4 input Quant
    assert any("Identity" in note for note in lm.notes)  # hls4ml 1.3 empty-output-port workaround
    hm = _convert(lm, tmp_path / "hls_qonnx")

    rng = np.random.default_rng(0)
    x = rng.uniform(lm.inputs.low - 2, lm.inputs.high + 2, (N_SAMPLES, 16)).astype(np.float32)  # saturation too
    ties = rng.integers(-300, 300, (N_SAMPLES // 2, 16)) * 2.0**-5  # exact rounding ties of the 2**-4 grid
    x[: N_SAMPLES // 2] = ties.astype(np.float32)
    y_ref = lm.predict(x)
    y_hls = np.asarray(hm.predict(x), dtype=np.float64).reshape(y_ref.shape)
    np.testing.assert_array_equal(y_hls, y_ref)
    assert np.max(np.abs(y_ref)) > 1.0


def test_qonnx_wide_accumulator_not_claimed_exact(tmp_path: Path) -> None:
    """A 24-bit input makes MatMul sums exceed float32's mantissa: qonnx's reference rounds."""
    import onnx

    path = tmp_path / "wide.onnx"
    onnx.save(qonnx_mlp(in_bits=24), path)
    lm = load_onnx_file(path)
    assert lm.source_format == "qonnx" and not lm.expect_bit_exact
    assert any("24-bit mantissa" in note for note in lm.notes), lm.notes


def test_torch_mlp(tmp_path: Path) -> None:
    lm = wrap_torch_module(torch_mlp(), (16,))
    assert (lm.source_format, lm.expect_bit_exact, lm.n_params) == ("pytorch", False, 16 * 32 + 32 + 32 * 5 + 5)
    assert not lm.model.training
    hm = _convert(lm, tmp_path / "hls_torch_mlp")
    _compare_float(lm, hm, _inputs(lm))


def test_torch_conv1d_from_spec_channels_first(tmp_path: Path, conv1d_file: tuple[Path, Path]) -> None:
    source, weights = conv1d_file
    lm = load_torch_spec(f"{source}:make_net", None, weights=weights)
    assert lm.inputs.shape == (4, 32)  # from the example input, channels-first like PyTorch
    hm = _convert(lm, tmp_path / "hls_torch_conv1d")
    x = _inputs(lm)
    _compare_float(lm, hm, x)
    # The same numbers in channels-last order must not pass: the layout convention is real.
    wrong = np.ascontiguousarray(x.transpose(0, 2, 1)).reshape(x.shape)
    assert np.max(np.abs(hm.predict(wrong).reshape(len(x), -1) - lm.predict(x))) > 10 * FLOAT_ATOL


def test_torch_weights_are_loaded(conv1d_file: tuple[Path, Path]) -> None:
    source, weights = conv1d_file
    x = np.random.default_rng(3).normal(size=(8, 4, 32)).astype(np.float32)
    with_weights = load_torch_spec(f"{source}:make_net", (4, 32), weights=weights).predict(x)
    without = load_torch_spec(f"{source}:make_net", (4, 32)).predict(x)
    assert not np.allclose(with_weights, without)


# ---------------------------------------------------------------- errors


def test_corrupt_onnx_file(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(b"\x08\x07\x12\x0cnot really onnx at all \xff\xfe" * 3)
    with pytest.raises(UserError, match="not"):
        load_onnx_file(path)
    text = tmp_path / "model.onnx"
    text.write_text("this is a text file, not a model\n")
    with pytest.raises(UserError):
        load_onnx_file(text)
    with pytest.raises(UserError, match="no such file"):
        load_onnx_file(tmp_path / "missing.onnx")


def test_unsupported_onnx_op_is_named(tmp_path: Path) -> None:
    import onnx
    from onnx import helper

    model = plain_onnx_mlp()
    graph = model.graph
    relu = next(n for n in graph.node if n.op_type == "Relu")
    graph.node.insert(list(graph.node).index(relu), helper.make_node("Cos", ["h1"], ["h1c"], name="my_cosine"))
    relu.input[0] = "h1c"
    path = tmp_path / "cos.onnx"
    onnx.save(model, path)
    with pytest.raises(UserError) as info:
        load_onnx_file(path)
    message = str(info.value)
    assert "my_cosine" in message and "Cos" in message and "MatMul" in message and "\n" not in message


def test_multi_input_onnx_is_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"], name="add")],
        "two_inputs",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in ("a", "b")],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    path = tmp_path / "two.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    with pytest.raises(UserError, match="2 inputs"):
        load_onnx_file(path)


@pytest.mark.parametrize(
    ("spec_suffix", "match"),
    [
        (None, "expected a PyTorch model spec"),
        (":no_such_factory", "no factory named 'no_such_factory'"),
        (":broken", r"broken\(\) raised ValueError: no such checkpoint"),
        (":not_a_module", "expected a torch.nn.Module"),
        (":with_gelu", r"module '1' \(GELU\) is not supported.*Linear"),
        (":with_cosine", r"function 'cos' .* is not supported"),
    ],
)
def test_bad_torch_specs(conv1d_file: tuple[Path, Path], spec_suffix: str | None, match: str) -> None:
    source, _ = conv1d_file
    spec = str(source) if spec_suffix is None else f"{source}{spec_suffix}"
    with pytest.raises(UserError, match=match):
        load_torch_spec(spec, None)


def test_bad_torch_files(tmp_path: Path, conv1d_file: tuple[Path, Path]) -> None:
    source, weights = conv1d_file
    with pytest.raises(UserError, match="no such file"):
        load_torch_spec(f"{tmp_path / 'nope.py'}:make_net", None)
    with pytest.raises(UserError, match="does not fit"):
        load_torch_spec(f"{source}:with_gelu", None, weights=weights)
    with pytest.raises(UserError, match="forward"):
        load_torch_spec(f"{source}:make_net", (4, 31))
    with pytest.raises(UserError, match="not a torch.nn.Module|expected a torch.nn.Module"):
        wrap_torch_module(object(), (4,))
