"""The example zoo: small, deterministic HGQ2 models that build in seconds without downloads.

Weights are seeded initialisations, not trained: the examples exist to exercise the
compiler, C-simulation and cost estimates on realistic shapes, and a trained network's
accuracy would need a data set this tool cannot download. Each model is calibrated with
HGQ2's ``trace_minmax`` on seeded inputs so hls4ml derives tight, bit-exact precisions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import UserError
from .frontends.tensorflow_runtime import import_keras_quietly

_SEED = 20261122


def _scopes(fixed_16_6: bool = False):
    """HGQ2's recommended defaults: weights kbi with symmetric saturation, activations kif.

    ``fixed_16_6`` starts every quantizer at hls4ml's default ap_fixed<16,6> (1 sign, 5
    integer, 10 fractional bits) instead of HGQ2's narrow defaults; calibration then trims
    the integer bits each tensor does not use, as hls4ml's precision inference would.
    """
    from hgq.config import LayerConfigScope, QuantizerConfigScope

    widths = ({"b0": 15, "i0": 5}, {"i0": 5, "f0": 10}) if fixed_16_6 else ({}, {})
    return (
        QuantizerConfigScope(place="all", default_q_type="kbi", overflow_mode="SAT_SYM", **widths[0]),
        QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP", **widths[1]),
        LayerConfigScope(enable_ebops=True, beta0=1e-5),
    )


def _calibrate(model: Any, shape: tuple[int, ...]) -> Any:
    from hgq.utils import trace_minmax

    x = np.random.default_rng(_SEED).normal(0.0, 1.0, size=(2048, *shape)).astype(np.float32)
    trace_minmax(model, x, batch_size=2048, verbose=0)
    return model


def _jet_mlp(name: str, fixed_16_6: bool) -> Any:
    import keras
    from hgq.layers import QDense

    keras.utils.set_random_seed(_SEED)
    s1, s2, s3 = _scopes(fixed_16_6)
    with s1, s2, s3:
        inputs = keras.Input((16,), name="jet_features")
        x = QDense(64, activation="relu", name="dense_1")(inputs)
        x = QDense(32, activation="relu", name="dense_2")(x)
        x = QDense(32, activation="relu", name="dense_3")(x)
        outputs = QDense(5, name="class_logits")(x)
        model = keras.Model(inputs, outputs, name=name)
    return _calibrate(model, (16,))


def jet_tagger() -> Any:
    """The hls4ml jet-tagging benchmark: MLP 16-64-32-32-5 at ap_fixed<16,6> (HGQ2, so C-sim is bit-exact).

    At this precision the products are wide enough for DSPs (hls4ml's published numbers for this
    network are thousands of DSPs at reuse factor 1), which is what the benchmark is known for.
    """
    return _jet_mlp("jet_tagger", fixed_16_6=True)


def jet_tagger_hgq() -> Any:
    """The same MLP with HGQ2's narrow default quantizers (~7-bit weights): LUT multipliers, no DSPs."""
    return _jet_mlp("jet_tagger_hgq", fixed_16_6=False)


def muon_tracker() -> Any:
    """Conv1D trigger network after the Fast Muon Tracking study: hits in 8 detector layers x
    24 strips in, 1D convolutions along the strips, dense head regressing the track's
    position and angle (2 outputs)."""
    import keras
    from hgq.layers import QConv1D, QDense, QMaxPool1D

    keras.utils.set_random_seed(_SEED)
    s1, s2, s3 = _scopes()
    with s1, s2, s3:
        inputs = keras.Input((24, 8), name="strip_hits")
        x = QConv1D(8, 3, activation="relu", name="conv_1")(inputs)
        x = QMaxPool1D(2, name="pool_1")(x)
        x = QConv1D(8, 3, activation="relu", name="conv_2")(x)
        x = QMaxPool1D(2, name="pool_2")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        x = QDense(16, activation="relu", name="dense_1")(x)
        outputs = QDense(2, name="track_params")(x)
        model = keras.Model(inputs, outputs, name="muon_tracker")
    return _calibrate(model, (24, 8))


def tiny_mlp(name: str = "tiny_mlp", lookup_table: bool = False) -> Any:
    """HGQ2 MLP 8-8-4 with 3-bit weights: the smallest design, for quick open-flow runs.

    ``lookup_table`` puts a tanh table (a ROM in da4ml's RTL) after the hidden layer; the
    name is free so tests can use one that is a Verilog keyword (``small``).
    """
    import keras
    from hgq.config import LayerConfigScope, QuantizerConfigScope
    from hgq.layers import QDense, QUnaryFunctionLUT

    keras.utils.set_random_seed(3)
    with (
        QuantizerConfigScope(place="all", default_q_type="kbi", overflow_mode="SAT_SYM", b0=3),
        QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP", i0=2, f0=3),
        LayerConfigScope(enable_ebops=True),
    ):
        inp = keras.Input((8,), name="x")
        if lookup_table:
            hidden = QUnaryFunctionLUT("tanh", name="tanh_table")(QDense(8, name="hidden")(inp))
        else:
            hidden = QDense(8, activation="relu", name="hidden")(inp)
        model = keras.Model(inp, QDense(4, name="out")(hidden), name=name)
    return _calibrate(model, (8,))


def jet_transformer() -> Any:
    """HGQ2 particle transformer: 16 constituents x 6 features, 2 encoder blocks with 2-head attention, 5 classes."""
    from .examples_transformer import jet_transformer as make  # imports this module: kept lazy

    return make()


EXAMPLES: dict[str, Callable[[], Any]] = {
    "jet_tagger": jet_tagger,
    "jet_tagger_hgq": jet_tagger_hgq,
    "muon_tracker": muon_tracker,
    "jet_transformer": jet_transformer,
    "tiny_mlp": tiny_mlp,
}


def examples() -> dict[str, str]:
    """Example names with their one-line descriptions."""
    return {name: " ".join((fn.__doc__ or "").split("\n\n")[0].split()) for name, fn in EXAMPLES.items()}


def example(name: str) -> Any:
    """Build the named example model (a fresh Keras model each call)."""
    if name not in EXAMPLES:
        raise UserError(f"unknown example '{name}'; available: {', '.join(EXAMPLES)}")
    import_keras_quietly()
    from .extensions import register

    register()
    return EXAMPLES[name]()
