"""Transformers through hls4ml 1.3: attention, LayerNorm and sequence-axis softmax, each against C-simulation.

Every layer is checked alone on tiny models (Keras vs the compiled hls4ml C++, called through
hls4ml directly), then the jet_transformer example end to end through ``fpgaml.build``.
HGQ2 layers and fpgaml's QLayerNormalization must match bit for bit; plain Keras softmax
is float and is held to the documented tolerance instead.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fpgaml
from fpgaml.compiler.frontends.tensorflow_runtime import import_keras_quietly

import_keras_quietly()

import keras  # noqa: E402

from fpgaml.compiler.examples import _scopes  # noqa: E402
from fpgaml.compiler.extensions import register  # noqa: E402

register()  # until the build pipeline calls it itself

from fpgaml.compiler.extensions.layers import QLayerNormalization  # noqa: E402


def _hgq_model(shape: tuple[int, ...], make: Any, seed: int = 3, f0: int | None = None) -> keras.Model:
    """A one-input model built under HGQ2's example scopes; ``f0`` sets activation fractional bits."""
    from hgq.config import QuantizerConfigScope

    keras.utils.set_random_seed(seed)
    s1, s2, s3 = _scopes()
    extra = nullcontext()
    if f0 is not None:
        extra = QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP", f0=f0)
    with s1, s2, s3, extra:
        inp = keras.Input(shape)
        return keras.Model(inp, make(inp))


def _calibrate(model: keras.Model, x: np.ndarray) -> None:
    from hgq.utils import trace_minmax

    trace_minmax(model, x, batch_size=len(x), verbose=0)


def _csim(model: keras.Model, x: np.ndarray, out: Path) -> tuple[np.ndarray, np.ndarray]:
    """Keras output and hls4ml C-simulation output (io_parallel, Vivado) for the same inputs."""
    import hls4ml

    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado")
    graph = hls4ml.converters.convert_from_keras_model(
        model, hls_config=cfg, output_dir=str(out), backend="Vivado", io_type="io_parallel", allow_da_fallback=False
    )
    graph.compile()
    ref = np.asarray(model(x, training=False), dtype=np.float64)
    return ref, np.asarray(graph.predict(x), dtype=np.float64).reshape(ref.shape)


def _assert_bit_exact(ref: np.ndarray, hls: np.ndarray) -> None:
    diff = np.abs(ref - hls)
    assert np.array_equal(ref, hls), f"max |diff| {diff.max():.6g} on {np.mean(diff > 0):.1%} of outputs"
    assert np.std(ref) > 0, "degenerate test: constant output"


# ---------------------------------------------------------------- attention (hgq2 0.2.0 class paths)


def test_attention_handlers_are_registered_under_hgq2_020_paths():
    from hgq.layers import QLinformerAttention, QMultiHeadAttention
    from hls4ml.converters.keras_v3 import layer_handlers

    register()  # idempotent
    for cls in (QMultiHeadAttention, QLinformerAttention):
        assert f"{cls.__module__}.{cls.__name__}" in layer_handlers


@pytest.mark.parametrize(
    "seq, features, heads, key_dim",
    [(8, 4, 2, 2), (6, 8, 4, 3), (4, 5, 1, 4)],
    ids=["2heads", "4heads", "1head"],
)
def test_multi_head_attention_is_bit_exact(tmp_path, seq, features, heads, key_dim):
    from hgq.layers import QMultiHeadAttention

    model = _hgq_model((seq, features), lambda t: QMultiHeadAttention(heads, key_dim, name="mha")(t, t))
    rng = np.random.default_rng(seq)
    _calibrate(model, rng.normal(0, 1, (512, seq, features)).astype(np.float32))
    ref, hls = _csim(model, rng.uniform(-3, 3, (300, seq, features)).astype(np.float32), tmp_path / "mha")
    _assert_bit_exact(ref, hls)


def test_linformer_attention_is_bit_exact(tmp_path):
    from hgq.layers import QLinformerAttention

    model = _hgq_model((8, 4), lambda t: QLinformerAttention(num_heads=2, key_dim=2, lin_kv_proj_dim=4)(t, t))
    rng = np.random.default_rng(1)
    _calibrate(model, rng.normal(0, 1, (512, 8, 4)).astype(np.float32))
    ref, hls = _csim(model, rng.uniform(-3, 3, (300, 8, 4)).astype(np.float32), tmp_path / "lin")
    _assert_bit_exact(ref, hls)


# ---------------------------------------------------------------- LayerNorm


def _layernorm_model(shape: tuple[int, ...], f0: int, seed: int = 4, **kwargs: Any) -> tuple[keras.Model, Any]:
    layer_box = []

    def make(t):
        layer_box.append(QLayerNormalization(name="ln", **kwargs))
        return layer_box[0](t)

    model = _hgq_model(shape, make, seed=seed, f0=f0)
    ln = layer_box[0]
    rng = np.random.default_rng(seed)
    dim = shape[-1]
    ln.ln_gamma.assign(rng.uniform(-1.5, 1.5, dim).astype(np.float32))
    ln.ln_beta.assign(rng.uniform(-0.5, 0.5, dim).astype(np.float32))
    return model, ln


@pytest.mark.parametrize(
    "shape, f0, scale, kwargs",
    [
        ((16, 16), 6, 2.0, {}),
        ((3, 7), 3, 2.0, {"norm_frac_bits": 5, "isqrt_mantissa_bits": 3}),
        ((10,), 10, 0.05, {"epsilon": 1e-5}),
        ((2, 3, 5), 8, 30.0, {"max_variance": 64.0}),  # most tokens saturate the table
        ((4, 16), 16, 4.0, {}),  # 27-bit deviations: truncated before squaring (var_shift > 0)
    ],
    ids=["16x16", "3x7-narrow", "rank1-small-eps", "rank3-saturating", "wide-input"],
)
def test_layernorm_is_bit_exact(tmp_path, shape, f0, scale, kwargs):
    model, ln = _layernorm_model(shape, f0, **kwargs)
    rng = np.random.default_rng(7)
    _calibrate(model, rng.normal(0, scale, (512, *shape)).astype(np.float32))
    x = rng.uniform(-2 * scale, 2 * scale, (400, *shape)).astype(np.float32)
    if kwargs.get("max_variance"):
        assert (np.asarray(ln.table_index(ln.iq(x))) == ln.table.size - 1).mean() > 0.5
    if shape == (4, 16):
        assert ln.datapath().var_shift > 0
    ref, hls = _csim(model, x, tmp_path / "ln")
    _assert_bit_exact(ref, hls)


def test_layernorm_table_regions_are_all_bit_exact(tmp_path):
    """Tokens with zero, tiny (below eps/64), ordinary and saturating variance, in one batch."""
    shape = (8, 8)
    model, ln = _layernorm_model(shape, f0=10, max_variance=16.0)
    rng = np.random.default_rng(11)
    token_scale = np.array([0.0, 2.0**-9, 2.0**-7, 0.05, 0.5, 1.0, 3.0, 12.0], dtype=np.float32)
    x = (rng.normal(0, 1, (300, *shape)) * token_scale[None, :, None]).astype(np.float32)
    x[:, 0, :] = 0.25  # constant token: zero variance
    _calibrate(model, x)
    idx = np.asarray(ln.table_index(ln.iq(x)))
    one_m = 1 << ln.isqrt_mantissa_bits
    assert (idx[:, 1:] < one_m).any(), "no token in the subnormal bucket"
    assert ((idx >= one_m) & (idx < ln.table.size - 1)).any(), "no token in the normal buckets"
    assert (idx == ln.table.size - 1).any(), "no token saturating the table"
    ref, hls = _csim(model, x, tmp_path / "ln_regions")
    _assert_bit_exact(ref, hls)
    np.testing.assert_array_equal(ref[:, 0, :], np.broadcast_to(np.asarray(ln.qbeta), (300, 8)))


def test_layernorm_is_close_to_float_layernorm():
    """The datapath is a LayerNorm: per element within |gamma| * (|n| * 2**-(M+1) + 2**-fn) of the
    float one on the same input grid (M mantissa bits index 1/sqrt, fn fractional bits of n)."""
    shape = (16, 16)
    model, ln = _layernorm_model(shape, f0=6)
    rng = np.random.default_rng(5)
    x = rng.normal(0, 2, (256, *shape)).astype(np.float32)
    _calibrate(model, x)
    xq = np.asarray(ln.iq(x), dtype=np.float64)
    n_float = (xq - xq.mean(-1, keepdims=True)) / np.sqrt(xq.var(-1, keepdims=True) + ln.epsilon)
    gamma, beta = np.asarray(ln.qgamma, dtype=np.float64), np.asarray(ln.qbeta, dtype=np.float64)
    got = np.asarray(model(x, training=False), dtype=np.float64)
    bound = np.abs(gamma) * (np.abs(n_float) * 2.0 ** -(ln.isqrt_mantissa_bits + 1) + 2.0**-ln.norm_frac_bits)
    assert (np.abs(got - (n_float * gamma + beta)) <= bound + 1e-6).all()
    ref_ln = keras.layers.LayerNormalization(epsilon=ln.epsilon)
    ref_ln.build((None, *shape))
    ref_ln.set_weights([gamma.astype(np.float32), beta.astype(np.float32)])
    assert np.abs(got - np.asarray(ref_ln(xq.astype(np.float32)))).max() < 0.05


def test_layernorm_round_trips_through_keras_file_with_safe_mode(tmp_path):
    from fpgaml.compiler.frontends.keras_model import load_keras_file

    model, _ = _layernorm_model((4, 8), f0=6)
    x = np.random.default_rng(2).normal(0, 1, (64, 4, 8)).astype(np.float32)
    _calibrate(model, x)
    path = tmp_path / "ln.keras"
    model.save(path)
    loaded = load_keras_file(path)
    assert np.array_equal(np.asarray(model(x)), loaded.predict(x).astype(np.float32))


def test_layernorm_trains_through_the_straight_through_gradient():
    from hgq.layers import QDense

    model = _hgq_model((4, 8), lambda t: QDense(3)(QLayerNormalization()(QDense(8, name="first")(t))))
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (64, 4, 8)).astype(np.float32)
    _calibrate(model, x)
    first = model.get_layer("first")
    before = np.asarray(first.kernel).copy()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    model.fit(x, rng.normal(0, 1, (64, 4, 3)).astype(np.float32), epochs=2, batch_size=32, verbose=0)
    assert not np.allclose(before, np.asarray(first.kernel)), "no gradient reached the layer before the LayerNorm"
    assert np.array_equal(model.predict(x, verbose=0), np.asarray(model(x, training=False)))


def test_layernorm_refuses_other_axes():
    with pytest.raises(ValueError, match="last axis"):
        QLayerNormalization(axis=1)


# ---------------------------------------------------------------- softmax along the sequence axis


@pytest.mark.parametrize(
    "shape, axis",
    [((16, 8), 1), ((5, 3, 4), 1), ((4, 6), (1, 2))],
    ids=["seq16", "rank3-axis1", "two-axes"],
)
def test_hgq_softmax_along_sequence_axis_is_bit_exact(tmp_path, shape, axis):
    from hgq.layers import QDense, QSoftmax

    model = _hgq_model(shape, lambda t: QSoftmax(axis=axis)(QDense(shape[-1])(t)))
    x = np.random.default_rng(2).uniform(-4, 4, (300, *shape)).astype(np.float32)
    _calibrate(model, x)  # the sum of exponentials wraps if the inputs exceed the calibrated range
    ref, hls = _csim(model, x, tmp_path / "sm")
    _assert_bit_exact(ref, hls)
    assert np.allclose(ref.sum(axis=axis if isinstance(axis, int) else tuple(axis)), 1.0, atol=0.06)


def test_keras_softmax_along_sequence_axis_within_tolerance(tmp_path):
    """Float Keras softmax is table-approximated: max |diff| < 0.25, argmax over the axis >= 0.95."""
    keras.utils.set_random_seed(2)
    inp = keras.Input((16, 8))
    out = keras.layers.Softmax(axis=1)(keras.layers.Dense(8)(inp))
    result = fpgaml.build(keras.Model(inp, out, name="seq_softmax"), tmp_path / "ksm", n_samples=300)
    assert result.csim["max_abs_diff"] < 0.25
    x = np.random.default_rng(0).uniform(-4, 4, (300, 16, 8)).astype(np.float32)
    ref = result.loaded.predict(x)
    hls = np.asarray(result.hls_model.predict(x)).reshape(ref.shape)
    assert np.mean(ref.argmax(axis=1) == hls.argmax(axis=1)) >= 0.95
    assert np.abs(hls.sum(axis=1) - 1.0).max() < 0.25


# ---------------------------------------------------------------- end to end


def test_jet_transformer_builds_bit_exact(tmp_path):
    from fpgaml.compiler.examples_transformer import jet_transformer

    result = fpgaml.build(jet_transformer(), tmp_path / "jet_transformer")
    csim = result.report["csim"]
    assert csim["n_samples"] == 1000
    assert csim["bit_exact"] is True and csim["max_abs_diff"] == 0.0
    assert csim["argmax_agreement"] >= 0.99
    classes = {layer["class"] for layer in result.report["model"]["layers"]}
    assert {"FpgamlLayerNorm", "Einsum", "EinsumDense", "Softmax"} <= classes
    assert (result.output_dir / "firmware/nnet_utils/nnet_fpgaml_layernorm.h").is_file()


def test_pytorch_multihead_attention_is_refused_in_one_line(tmp_path):
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.att = torch.nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.att(x, x, x, need_weights=False)[0]

    with pytest.raises(fpgaml.UserError, match=r"module 'att' \(MultiheadAttention\) is not supported"):
        fpgaml.build(Net(), tmp_path / "torch_mha", input_shape=(4, 8))
    assert not (tmp_path / "torch_mha").exists()


def test_pytorch_tokenwise_linear_is_refused_naming_the_module():
    """Hand-written attention projects (sequence, features) tensors with Linear: hls4ml 1.3 cannot."""
    import torch

    from fpgaml.compiler.frontends.torch_model import wrap_torch_module

    class TokenProjection(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.query = torch.nn.Linear(6, 8)

        def forward(self, x):
            return torch.relu(self.query(x))

    with pytest.raises(fpgaml.UserError, match=r"module 'query' \(Linear\) is applied to a \(16, 6\) tensor"):
        wrap_torch_module(TokenProjection(), (16, 6))


def test_hgq_latency_softmax_builds_bit_exact(tmp_path):
    """QSoftmax(stable=False): hls4ml 1.3's config forces 'stable' and then fails; fpgaml keeps 'latency'."""
    import keras
    from hgq.layers import QDense, QSoftmax
    from hgq.utils import trace_minmax

    keras.utils.set_random_seed(0)
    inp = keras.Input((8,))
    model = keras.Model(inp, QSoftmax(stable=False)(QDense(6)(inp)), name="latency_softmax")
    trace_minmax(model, np.random.default_rng(0).normal(size=(256, 8)).astype(np.float32), batch_size=256, verbose=0)
    result = fpgaml.build(model, tmp_path / "out", n_samples=300)
    assert result.csim["bit_exact"] is True
