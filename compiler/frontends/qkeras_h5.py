"""QKeras 0.9 ``.h5`` files (Keras 2 HDF5), rebuilt as equivalent HGQ2 / Keras 3 models.

Why a rebuild, and not one of the obvious routes (all checked with hls4ml 1.3.0, hgq2 0.2.0,
Keras 3.15):

* Real QKeras needs TensorFlow <= 2.14 / Keras 2 and cannot live in this install.
* hgq2 ships a top-level ``qkeras`` compatibility package, but it is not QKeras: its
  ``quantized_bits(bits, ...)`` counts ``bits`` *without* the sign bit (``quantized_bits(6,0)``
  keeps 6 fractional bits where QKeras keeps 5), and its ``get_quantizer`` takes only strings.
* hls4ml's own Keras 2 reader (``keras_v2_to_hls`` with ``KerasH5``) parses the file, but its
  QKeras handlers call ``qkeras.quantizers.get_quantizer(<dict>)``, which resolves to hgq2's
  package and fails (``AttributeError: 'dict' object has no attribute 'split'``).

So the file is read with h5py (``model_config`` JSON + weights) and every QKeras quantizer is
mapped onto the HGQ2 fixed-point quantizer that computes exactly the same numbers:

* ``quantized_bits(bits, integer, symmetric, keep_negative, alpha=1|None)`` -> KBI
  ``k=keep_negative, b=bits-keep_negative, i=integer``, rounding ``RND_CONV`` (QKeras uses
  ``tf.round``: half to even), overflow ``SAT`` (``SAT_SYM`` when symmetric). HGQ2 clips
  before rounding and QKeras after; both bounds lie on the grid, so the results agree.
* ``quantized_relu(bits, integer)`` -> KBI ``k=0, b=bits, i=integer``, ``RND_CONV``, ``SAT``
  (an unsigned saturating quantizer maps negatives to 0, i.e. it *is* the ReLU).

(QKeras returns ``x + stop_gradient(q - x)`` in float32, which is ``q`` itself whenever
``q - x`` is exact, as it is for weights and for grid-aligned activations; the test checks.)

hls4ml then converts the result as an ordinary HGQ2 model, through
``hls4ml.converters.convert_from_keras_model``, with its bit-exact precision flow, which
derives every accumulator and result type from these quantizers.

One addition: a ``<input>_port`` quantizer right after the input, ``ap_fixed<W,I>`` with
truncation and wrap-around. It models what the generated design does to a float input
(hls4ml's C-sim bridge casts floats to the input type), and hls4ml's bit-exact flow refuses
an Input not followed by a quantizer. On inputs representable in that type it is the
identity, so ``predict`` equals QKeras's outputs; on finer inputs it equals the hardware.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from . import keras_model as _keras_model  # sets KERAS_BACKEND before keras is first imported
from .base import LoadedModel

SUPPORTED_LAYERS = ("InputLayer", "QDense", "QActivation", "Dropout")
SUPPORTED_QUANTIZERS = (
    "quantized_bits(bits, integer, symmetric, keep_negative, alpha=1 or None) and "
    "quantized_relu(bits, integer), without stochastic rounding, sigmoid, negative slope or qnoise"
)

_QUANTIZER_ARGS = {  # QKeras 0.9 positional argument order, for strings like 'quantized_relu(6,2)'
    "quantized_bits": ("bits", "integer", "symmetric", "keep_negative", "alpha", "use_stochastic_rounding"),
    "quantized_relu": ("bits", "integer", "use_sigmoid", "negative_slope", "use_stochastic_rounding",
                       "relu_upper_bound", "is_quantized_clip", "qnoise_factor"),
}


def is_keras2_h5(path: Path) -> bool:
    """True when ``path`` is an HDF5 file holding a whole model saved by Keras 2.

    Cheap: reads only the root attributes, so the dispatcher can call it on any ``.h5``.
    """
    import h5py

    try:
        if not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r") as f:
            version = f.attrs.get("keras_version", b"2")
            version = version.decode() if isinstance(version, bytes) else str(version)
            return "model_config" in f.attrs and version.startswith("2")
    except (OSError, ValueError):
        return False


def load_qkeras_h5(path: Path, input_precision: str = "ap_fixed<16,6>") -> Any:
    """Rebuild the QKeras model in ``path`` as a Keras 3 / HGQ2 ``keras.Model``.

    ``input_precision`` is the design's input type (see the module docstring, ``_port``).
    Raises :class:`UserError` for a file that is not a Keras 2 model or that uses a layer or
    quantizer outside :data:`SUPPORTED_LAYERS` / :data:`SUPPORTED_QUANTIZERS`.
    """
    import h5py

    path = Path(path)
    if not is_keras2_h5(path):
        raise UserError(f"{path}: not a Keras 2 HDF5 model file (no Keras 2 'model_config'); "
                        "is it weights-only or corrupt?")
    try:
        with h5py.File(path, "r") as f:
            arch = json.loads(_text(f.attrs["model_config"]))
            weights = _read_weights(f)
        layers = _layer_list(arch)
        for spec in layers:  # refuse before building anything, naming the first offending layer
            if spec["class_name"] not in SUPPORTED_LAYERS:
                raise UserError(f"layer '{spec['config'].get('name')}' ({spec['class_name']}) is not supported in "
                                f"QKeras .h5 files; supported: {', '.join(SUPPORTED_LAYERS)}")
        model, dense_layers = _build(arch, layers, input_precision)
        for layer in dense_layers:
            _set_dense_weights(layer, weights.get(layer.name, {}))
    except (KeyError, IndexError, TypeError, ValueError, OSError) as err:  # malformed or hand-edited file
        first = f"{type(err).__name__}: {err}".splitlines()[0]
        raise UserError(f"{path}: cannot rebuild the QKeras model: {first}") from None
    return model


def _build(arch: dict, layers: list[dict], input_precision: str) -> tuple[Any, list[Any]]:
    """Wire the HGQ2 layers like the Keras 2 graph; returns the model and its QDense layers."""
    import keras
    from hgq.layers import QDense
    from hgq.quantizer import Quantizer

    tensors: dict[str, Any] = {}
    inputs, dense_layers = [], []
    for spec in layers:
        cls, cfg = spec["class_name"], spec["config"]
        name = cfg["name"]
        if cls == "InputLayer":
            shape = cfg.get("batch_input_shape") or cfg["batch_shape"]
            inp = keras.Input(shape=tuple(shape[1:]), name=name)
            inputs.append(inp)
            tensors[name] = Quantizer(_kif_config(*_parse_precision(input_precision)), name=f"{name}_port")(inp)
            continue
        source = tensors[_inbound(spec)]
        if cls == "Dropout":  # inference-time identity
            tensors[name] = source
        elif cls == "QActivation":
            tensors[name] = Quantizer(_quantizer(cfg["activation"], name, cls, "datalane"), name=name)(source)
        else:  # QDense
            use_bias = cfg.get("use_bias", True)
            for key in ("kernel_quantizer", "bias_quantizer") if use_bias else ("kernel_quantizer",):
                if cfg.get(key) is None:
                    raise UserError(f"layer '{name}' (QDense) has no {key}; a float QDense cannot be bit-exact, "
                                    f"supported: {SUPPORTED_QUANTIZERS}")
            layer = QDense(
                cfg["units"],
                use_bias=use_bias,
                kq_conf=_quantizer(cfg["kernel_quantizer"], name, cls, "weight"),
                bq_conf=_quantizer(cfg["bias_quantizer"], name, cls, "bias") if use_bias else None,
                enable_iq=False,  # QKeras never quantizes a QDense input
                enable_oq=False,
                enable_ebops=False,
                name=name,
            )
            out = layer(source)
            dense_layers.append(layer)
            act = cfg.get("activation")
            if act not in (None, "linear"):
                out = Quantizer(_quantizer(act, name, cls, "datalane"), name=f"{name}_activation")(out)
            tensors[name] = out

    outputs = [tensors[n] for n in _output_names(arch, layers)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise UserError(f"model '{arch['config'].get('name')}': fpgaml builds single-input single-output QKeras models")
    return keras.Model(inputs[0], outputs[0], name=arch["config"].get("name", "qkeras_model")), dense_layers


def load_qkeras_h5_model(path: Path) -> LoadedModel:
    """:func:`load_qkeras_h5` wrapped for the build; expected bit-exact like any HGQ2 model."""
    loaded = _keras_model.wrap_keras_model(load_qkeras_h5(path))
    loaded.source_format = "qkeras-h5"
    loaded.notes.append("QKeras .h5 rebuilt as HGQ2 layers with QKeras-identical quantizers")
    return loaded


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _read_weights(f: Any) -> dict[str, dict[str, np.ndarray]]:
    """{layer: {'kernel': array, 'bias': array}} from Keras 2's ``model_weights`` groups."""
    group = f["model_weights"] if "model_weights" in f else f
    out: dict[str, dict[str, np.ndarray]] = {}
    for layer in group:
        names = [_text(n) for n in group[layer].attrs.get("weight_names", [])]
        # names look like 'qdense_1/kernel:0'; keep the variable's own name
        out[layer] = {n.rsplit("/", 1)[-1].split(":")[0]: np.asarray(group[layer][n]) for n in names}
    return out


def _layer_list(arch: dict) -> list[dict]:
    if arch.get("class_name") not in ("Functional", "Model", "Sequential"):
        raise UserError(f"unsupported Keras 2 model class {arch.get('class_name')!r}; "
                        "supported: Functional, Sequential")
    cfg = arch["config"]
    layers = list(cfg["layers"] if isinstance(cfg, dict) else cfg)
    if arch["class_name"] == "Sequential":
        if layers and layers[0]["class_name"] != "InputLayer":  # Keras < 2.4 stores no InputLayer
            shape = layers[0]["config"]["batch_input_shape"]
            layers.insert(0, {"class_name": "InputLayer", "config": {"name": "input_1", "batch_input_shape": shape}})
        for prev, spec in zip(layers, layers[1:]):
            spec["inbound_nodes"] = [[[prev["config"]["name"], 0, 0, {}]]]
    return layers


def _inbound(spec: dict) -> str:
    nodes = spec.get("inbound_nodes") or []
    if len(nodes) != 1 or len(nodes[0]) != 1:
        name = spec["config"]["name"]
        raise UserError(f"layer '{name}' ({spec['class_name']}) has several inputs or is shared; "
                        f"supported: single-input layers {', '.join(SUPPORTED_LAYERS)}")
    return nodes[0][0][0]


def _output_names(arch: dict, layers: list[dict]) -> list[str]:
    if arch["class_name"] == "Sequential":
        return [layers[-1]["config"]["name"]]
    return [o[0] for o in arch["config"]["output_layers"]]


def _parse_quantizer_spec(spec: Any) -> tuple[str, dict]:
    """(class_name, kwargs) from a serialized dict or a string such as 'quantized_relu(6,2)'."""
    if isinstance(spec, dict):
        return spec.get("class_name", ""), dict(spec.get("config", {}))
    text = str(spec).strip()
    try:
        call = ast.parse(text, mode="eval").body
    except SyntaxError:
        return text, {}
    if isinstance(call, ast.Name):
        return call.id, {}
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        return text, {}
    names = _QUANTIZER_ARGS.get(call.func.id, ())
    try:
        kwargs = {names[n]: ast.literal_eval(a) for n, a in enumerate(call.args)}
        kwargs.update({kw.arg: ast.literal_eval(kw.value) for kw in call.keywords})
    except (IndexError, ValueError):
        return text, {}
    return call.func.id, kwargs


def _quantizer(spec: Any, layer: str, cls: str, place: str) -> Any:
    """The HGQ2 QuantizerConfig that reproduces a QKeras quantizer, or a one-line UserError."""
    kind, c = _parse_quantizer_spec(spec)
    bad = UserError(f"layer '{layer}' ({cls}): quantizer {_describe(spec)} is not supported; "
                    f"supported: {SUPPORTED_QUANTIZERS}")
    if c.get("use_stochastic_rounding") or c.get("qnoise_factor", 1.0) not in (None, 1, 1.0):
        raise bad
    if kind == "quantized_bits":
        keep_negative = int(bool(c.get("keep_negative", True)))
        bits, integer = int(c.get("bits", 8)), int(c.get("integer", 0))
        # alpha 'auto'/'auto_po2' rescales per batch of weights; a numeric alpha != 1 multiplies the
        # quantized value by alpha. Neither is a fixed-point type.
        if c.get("alpha") not in (None, 1, 1.0) or bits - keep_negative <= 0:
            raise bad
        overflow = "SAT_SYM" if c.get("symmetric") else "SAT"
        return _kbi_config(keep_negative, bits - keep_negative, integer, "RND_CONV", overflow, place)
    if kind == "quantized_relu":
        # relu_upper_bound is ignored by QKeras while is_quantized_clip is True (its default,
        # and QKeras 0.9 does not save it).
        if c.get("use_sigmoid") or c.get("negative_slope") or not c.get("is_quantized_clip", True):
            raise bad
        return _kbi_config(0, int(c.get("bits", 8)), int(c.get("integer", 0)), "RND_CONV", "SAT", place)
    raise bad


def _describe(spec: Any) -> str:
    if isinstance(spec, dict):
        args = ",".join(f"{k}={v!r}" for k, v in spec.get("config", {}).items())
        return f"{spec.get('class_name')}({args})"
    return repr(spec)


def _kbi_config(k: int, b: int, i: int, round_mode: str, overflow: str, place: str) -> Any:
    from hgq.config import QuantizerConfig

    # Frozen, one scalar type per tensor, no bit-width constraints (HGQ2's defaults would clamp bits).
    return QuantizerConfig("kbi", place, k0=k, b0=b, i0=i, round_mode=round_mode, overflow_mode=overflow,
                           trainable=False, bc=None, ic=None, br=None, ir=None,
                           homogeneous_axis=None, heterogeneous_axis=())


def _kif_config(k: int, i: int, f: int) -> Any:
    from hgq.config import QuantizerConfig

    return QuantizerConfig("kif", "datalane", k0=k, i0=i, f0=f, round_mode="TRN", overflow_mode="WRAP",
                           trainable=False, ic=None, fc=None, ir=None, fr=None,
                           homogeneous_axis=None, heterogeneous_axis=())


def _parse_precision(text: str) -> tuple[int, int, int]:
    """'ap_fixed<16,6>' -> (k=1, i=5, f=10); 'ap_ufixed<W,I>' -> (0, I, W-I)."""
    m = re.fullmatch(r"\s*(?:ap_)?(u?)fixed<\s*(\d+)\s*,\s*(-?\d+)\s*>\s*", text)
    if not m:
        raise UserError(f"invalid input precision {text!r}; expected e.g. 'ap_fixed<16,6>' or 'ap_ufixed<8,0>'")
    signed, width, integer = not m.group(1), int(m.group(2)), int(m.group(3))
    return int(signed), integer - int(signed), width - integer


def _set_dense_weights(layer: Any, saved: dict[str, np.ndarray]) -> None:
    """Copy the float weights; HGQ2 quantizes them at call time exactly as QKeras did.

    Not ``layer.set_weights``: an HGQ2 layer also owns its quantizers' k/b/i variables.
    """
    for var in layer.trainable_weights:
        key = var.path.rsplit("/", 1)[-1]  # 'qdense_1/kernel' -> 'kernel'
        if key not in saved or tuple(saved[key].shape) != tuple(var.shape):
            got = tuple(saved[key].shape) if key in saved else None
            raise UserError(f"layer '{layer.name}' (QDense): saved {key} has shape {got}, expected {tuple(var.shape)}")
        var.assign(saved[key].astype(np.float32))
