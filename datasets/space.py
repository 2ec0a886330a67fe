"""The design space of ``fpgaml dataset generate``: seeded architectures and hls4ml settings.

In the spirit of wa-hls4ml (ben-hawks/wa-hls4ml-search), a design is a small quantized
network plus the hls4ml configuration it is built with. Two properties matter more than
the exact ranges:

- **Design i is a pure function of (space, seed, i).** Its random stream is seeded from
  ``(seed, i)`` alone (numpy SeedSequence), never from a shared generator, so a restarted
  or distributed run regenerates exactly the same designs in any order, on any machine.
- **A design id names it**: ``uuid5(namespace, "space:seed:i")``. Records carry it as
  ``meta_data.uuid``, so resuming is "skip the ids already written".

Sampling needs numpy only (the parent process of a run never imports TensorFlow);
:func:`build_model` imports Keras/HGQ2 lazily and runs in the workers.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SPACES = ("dense", "conv", "mixed", "tiny")
#: Fixed namespace so ids are stable across versions and machines (uuid5 of this URL-ish name).
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/fpgaml/fpgaml/datasets/generate")

# Ranges. Hidden widths are drawn log-uniformly: wa-hls4ml's widths span 4..64 and most of
# the synthesis cost (and the time per design) comes from the widest layers.
DENSE_HIDDEN_LAYERS = (1, 3)
DENSE_WIDTH = (4, 64)
DENSE_IN = (4, 32)
DENSE_OUT = (2, 10)
WEIGHT_BITS = (2, 8)
ACT_INT_BITS = (1, 3)  # datalane quantizer i0
ACT_FRAC_BITS = (1, 4)  # datalane quantizer f0
ACTIVATIONS = ("relu", "relu", "linear")  # relu twice as likely, as in wa-hls4ml's nets
CONV_LENGTH = (8, 32)
CONV_CHANNELS = (1, 4)
CONV_LAYERS = (1, 2)
CONV_FILTERS = (2, 8)
CONV_KERNEL = (2, 3)
REUSE_FACTORS = (1, 2, 4, 8, 16, 32, 64)
STRATEGIES = ("latency", "resource")
PIPELINE_STAGES = (1, 3)
# "tiny": 4..8-wide single-hidden-layer nets with 2-3 bit weights, ~3 s of Yosys each; for
# smoke tests and CI, not for training data.
TINY_WIDTH = (4, 8)
TINY_WEIGHT_BITS = (2, 3)
PART = "xcvu13p"
CLOCK_PERIOD_NS = 5.0
PRECISION = "ap_fixed<16,6>"  # hls4ml's model default; HGQ2 layers carry their own exact types


@dataclass(frozen=True)
class DesignSpec:
    """Everything needed to rebuild one design; JSON-able (``as_dict``) so it travels to workers.

    ``hidden`` are Dense widths (dense) or Conv1D filter counts (conv); ``input_shape`` is
    without the batch dimension. ``reuse_factor``/``strategy`` are hls4ml's settings, used
    for the record's hls_config and by the Vivado label; the open flow (da4ml) always
    builds the fully parallel circuit.
    """

    design_id: str
    space: str
    seed: int
    index: int
    kind: str  # "dense" | "conv"
    name: str
    input_shape: tuple[int, ...]
    hidden: tuple[int, ...]
    outputs: int
    weight_bits: int
    act_int_bits: int
    act_frac_bits: int
    activation: str
    reuse_factor: int
    strategy: str
    pipeline_stages: int
    kernel_size: int = 3
    pool: bool = False
    part: str = PART
    clock_period: float = CLOCK_PERIOD_NS
    precision: str = PRECISION
    extra: dict[str, Any] = field(default_factory=dict)  # free-form (tests inject bad settings here)

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["input_shape"] = list(self.input_shape)
        out["hidden"] = list(self.hidden)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DesignSpec":
        values = dict(data)
        values["input_shape"] = tuple(values["input_shape"])
        values["hidden"] = tuple(values["hidden"])
        return cls(**values)


def design_id(space: str, seed: int, index: int) -> str:
    """The stable id of design ``index`` of ``space`` under ``seed``.

    The space is part of the name so that two runs with the same seed but different spaces
    never mistake each other's designs for their own when they share an output directory.
    """
    return str(uuid.uuid5(ID_NAMESPACE, f"{space}:{int(seed)}:{int(index)}"))


def _rng(seed: int, index: int, salt: int) -> np.random.Generator:
    """A generator that depends on (seed, index, salt) only: the root of the purity guarantee."""
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(index), salt]))


def _int(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))


def _log_int(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    lo, hi = math.log(bounds[0]), math.log(bounds[1] + 1)
    return min(bounds[1], int(math.exp(rng.uniform(lo, hi))))


def _common(rng: np.random.Generator) -> dict[str, Any]:
    """Quantization and hls4ml settings shared by both kinds, drawn in a fixed order."""
    return dict(
        weight_bits=_int(rng, WEIGHT_BITS),
        act_int_bits=_int(rng, ACT_INT_BITS),
        act_frac_bits=_int(rng, ACT_FRAC_BITS),
        activation=str(rng.choice(ACTIVATIONS)),
        reuse_factor=int(rng.choice(REUSE_FACTORS)),
        strategy=str(rng.choice(STRATEGIES)),
        pipeline_stages=_int(rng, PIPELINE_STAGES),
    )


def _dense(rng: np.random.Generator) -> dict[str, Any]:
    n_hidden = _int(rng, DENSE_HIDDEN_LAYERS)
    return dict(
        kind="dense",
        input_shape=(_log_int(rng, DENSE_IN),),
        hidden=tuple(_log_int(rng, DENSE_WIDTH) for _ in range(n_hidden)),
        outputs=_int(rng, DENSE_OUT),
    )


def _conv(rng: np.random.Generator) -> dict[str, Any]:
    n_conv = _int(rng, CONV_LAYERS)
    return dict(
        kind="conv",
        input_shape=(_int(rng, CONV_LENGTH), _int(rng, CONV_CHANNELS)),
        hidden=tuple(_int(rng, CONV_FILTERS) for _ in range(n_conv)),
        kernel_size=_int(rng, CONV_KERNEL),
        pool=bool(rng.integers(0, 2)),
        outputs=_int(rng, DENSE_OUT),
    )


def _tiny(rng: np.random.Generator) -> dict[str, Any]:
    return dict(kind="dense", input_shape=(_int(rng, TINY_WIDTH),), hidden=(_int(rng, TINY_WIDTH),), outputs=2)


def _model_name(kind: str, values: dict[str, Any]) -> str:
    """wa-hls4ml-like names (``dense_16_32_8_4b``) that the table's weight-bits fallback reads."""
    dims = [*values["input_shape"], *values["hidden"], values["outputs"]]
    return f"{kind}_{'_'.join(str(d) for d in dims)}_{values['weight_bits']}b"


def sample_design(seed: int, index: int, space: str = "dense") -> DesignSpec:
    """Design ``index`` of ``space`` under ``seed`` (deterministic; see the module docstring).

    In ``mixed``, the kind is drawn from the design's own stream, so the mixed space's
    design i is not the dense space's design i (their ids differ as well).
    """
    if space not in SPACES:
        raise ValueError(f"unknown design space {space!r}; expected one of {', '.join(SPACES)}")
    if index < 0:
        raise ValueError(f"design index must be >= 0, got {index}")
    rng = _rng(seed, index, salt=SPACES.index(space))
    if space == "tiny":
        values = _tiny(rng)
        values.update(_common(rng))
        values.update(weight_bits=_int(rng, TINY_WEIGHT_BITS), act_int_bits=1, act_frac_bits=2)
    else:
        kind = space if space != "mixed" else ("dense" if rng.random() < 0.5 else "conv")
        values = _dense(rng) if kind == "dense" else _conv(rng)
        values.update(_common(rng))
    return DesignSpec(
        design_id=design_id(space, seed, index), space=space, seed=int(seed), index=int(index),
        name=_model_name(values["kind"], values), **values,
    )


def model_seed(spec: DesignSpec) -> int:
    """The Keras weight-initialisation seed of a design, derived from its id (a 31-bit int)."""
    return uuid.UUID(spec.design_id).int % (2**31 - 1)


def build_model(spec: DesignSpec) -> Any:
    """The HGQ2 Keras model of ``spec``, with seeded weights and calibrated activation ranges.

    Weights are seeded initialisations, not trained (as in wa-hls4ml: the cost of a circuit
    depends on its shapes and bit widths, and a random b-bit weight is as costly as a
    trained one). Calibration with ``trace_minmax`` lets HGQ2 fix every intermediate width,
    which both da4ml and hls4ml need for a bit-exact design.
    """
    import keras
    from hgq.config import LayerConfigScope, QuantizerConfigScope
    from hgq.utils import trace_minmax

    keras.utils.set_random_seed(model_seed(spec))
    with (
        # i0=0: weights in (-1, 1) with weight_bits of resolution; with HGQ2's default i0=2 a
        # 2-bit weight would round every initial value to 0 and the circuit would vanish.
        QuantizerConfigScope(place="all", default_q_type="kbi", overflow_mode="SAT_SYM", b0=spec.weight_bits, i0=0),
        QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP",
                             i0=spec.act_int_bits, f0=spec.act_frac_bits),
        LayerConfigScope(enable_ebops=True),
    ):
        inputs = keras.Input(spec.input_shape, name="x")
        x = _dense_body(spec, inputs) if spec.kind == "dense" else _conv_body(spec, inputs)
        model = keras.Model(inputs, x, name=spec.name)
    calib = np.random.default_rng(model_seed(spec)).normal(0.0, 1.0, size=(1024, *spec.input_shape))
    trace_minmax(model, calib.astype(np.float32), batch_size=1024, verbose=0)
    return model


def _activation(spec: DesignSpec) -> str | None:
    return None if spec.activation == "linear" else spec.activation


def _init() -> dict[str, Any]:
    """Uniform weights and biases over the quantizer's whole range, so that every bit width
    yields mostly non-zero weights (Glorot's small values would leave 2-3 bit nets empty)."""
    import keras

    return dict(kernel_initializer=keras.initializers.RandomUniform(-1.0, 1.0),
                bias_initializer=keras.initializers.RandomUniform(-1.0, 1.0))


def _dense_body(spec: DesignSpec, x: Any) -> Any:
    from hgq.layers import QDense

    for i, width in enumerate(spec.hidden, start=1):
        x = QDense(width, activation=_activation(spec), name=f"dense_{i}", **_init())(x)
    return QDense(spec.outputs, name="output", **_init())(x)


def _conv_body(spec: DesignSpec, x: Any) -> Any:
    import keras
    from hgq.layers import QConv1D, QDense, QMaxPool1D

    for i, filters in enumerate(spec.hidden, start=1):
        if x.shape[1] < spec.kernel_size:
            break  # too short for another convolution: the head takes what is there
        x = QConv1D(filters, spec.kernel_size, activation=_activation(spec), name=f"conv_{i}", **_init())(x)
        if spec.pool and x.shape[1] >= 4:
            x = QMaxPool1D(2, name=f"pool_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return QDense(spec.outputs, name="output", **_init())(x)
