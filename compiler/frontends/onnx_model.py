"""ONNX and QONNX models, from `.onnx` files.

hls4ml's ONNX frontend does not read arbitrary ONNX: it expects the graph the qonnx package
produces after "cleaning" (shape inference, constant folding, unique names), with
convolutions converted to channels-last and Gemm split into MatMul + Add. This module runs
that preprocessing (the sequence hls4ml's ONNX/QONNX documentation and its own tests use) and
hands hls4ml the preprocessed graph, while the reference :meth:`OnnxModel.predict` runs the
model exactly as the user saved it:

* plain ONNX runs in onnxruntime;
* QONNX (graphs with ``Quant``/``BipolarQuant``/``Trunc`` nodes, which onnxruntime cannot
  run) runs in qonnx's reference executor, ``qonnx.core.onnx_exec.execute_onnx``.

Layout: the preprocessing keeps the graph input in the model's own layout (qonnx leaves a
Transpose at the input rather than changing the input), so the C-simulation and the reference
take the same arrays: a PyTorch-exported Conv1d model takes ``(batch, channels, length)``.

QONNX models whose quantizers are all power-of-two, zero-offset ``ROUND``/``FLOOR``
quantizers, whose ops hls4ml maps onto exact fixed-point arithmetic (MatMul/Add/Relu) and
whose sums stay exact in qonnx's float32 reference (see :func:`_bit_exact_reason`) are marked
``expect_bit_exact``: with the input port typed after the input ``Quant`` (see
:meth:`OnnxModel.config_from_model`) the C-simulation reproduces qonnx's execution bit for
bit (shown on a hand-built QONNX MLP and on Brevitas FixedPoint + Int32Bias exports).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from .base import InputSpec, LoadedModel

#: QONNX quantization ops; their presence makes a graph QONNX rather than plain ONNX.
_QONNX_OPS = frozenset({"Quant", "IntQuant", "BipolarQuant", "Trunc"})
_QUANT_OPS = frozenset({"Quant", "IntQuant"})
#: Ops hls4ml 1.3's parse_onnx_model skips (wires their input through) instead of converting.
_HLS4ML_SKIPPED_OPS = ("Identity", "Dropout")
#: Quant rounding modes hls4ml 1.3 implements (quant_opt._calculate_precision_quantizer).
_HLS4ML_ROUNDING = {"ROUND": "RND_CONV", "FLOOR": "TRN"}
#: Ops through which hls4ml's QONNX flow has been shown bit-exact (tests/test_frontends_onnx_torch.py).
_BIT_EXACT_OPS = frozenset({"Quant", "IntQuant", "MatMul", "Add", "Relu"})


@dataclass
class OnnxModel(LoadedModel):
    """An ONNX/QONNX model: ``model`` is the preprocessed qonnx ModelWrapper given to hls4ml.

    ``original`` is the ModelProto as loaded (trailing Identity nodes aside), which the
    reference :meth:`predict` runs.
    """

    original: Any = field(default=None, repr=False)
    input_precision: str | None = None
    _sessions: dict = field(default_factory=dict, repr=False, init=False, compare=False)

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = _check_batch(np.asarray(x), self.inputs.shape)
        graph = self.original.graph
        x = x.astype(_np_dtype(_real_inputs(graph)[0].type.tensor_type.elem_type), copy=False)
        y = self._run_qonnx(x) if self.source_format == "qonnx" else self._run_onnxruntime(x)
        return np.asarray(y, dtype=np.float64)

    def config_from_model(self, backend: str, default_precision: str, reuse_factor: int) -> dict:
        import hls4ml

        config = hls4ml.utils.config_from_onnx_model(
            self.model,
            granularity="name",
            backend=backend,
            default_precision=default_precision,
            default_reuse_factor=reuse_factor,
        )
        if self.input_precision is not None:
            # The input port would otherwise take the default precision and truncate the
            # float test inputs before the input Quant rounds them (double rounding); typing
            # the port as the Quant makes the float->fixed conversion the quantization itself.
            layer = config.setdefault("LayerName", {}).setdefault(_hls4ml_input_name(self.model), {})
            layer.setdefault("Precision", {})["result"] = self.input_precision
        return config

    def convert(self, hls_config: dict, **convert_kwargs: Any):
        import hls4ml

        # hls4ml keeps a reference to the graph it was given; hand it a copy so repeated
        # conversions (e.g. with different configs) start from the same preprocessed graph.
        model = copy.deepcopy(self.model)
        return hls4ml.converters.convert_from_onnx_model(model, hls_config=hls_config, **convert_kwargs)

    @property
    def n_params(self) -> int:
        return _count_params(self.original.graph)

    def _run_onnxruntime(self, x: np.ndarray) -> np.ndarray:
        """Plain ONNX in onnxruntime; a graph saved with a fixed batch size runs in chunks of it."""
        import onnxruntime as ort

        if "ort" not in self._sessions:
            self._sessions["ort"] = ort.InferenceSession(
                self.original.SerializeToString(), providers=["CPUExecutionProvider"]
            )
        session = self._sessions["ort"]
        name = _real_inputs(self.original.graph)[0].name
        fixed = _fixed_batch(self.original.graph)
        if not fixed or fixed == len(x):
            return session.run(None, {name: x})[0]
        outs = []
        for start in range(0, len(x), fixed):
            chunk = x[start : start + fixed]
            pad = fixed - len(chunk)
            if pad:
                chunk = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), dtype=chunk.dtype)])
            outs.append(session.run(None, {name: chunk})[0][: fixed - pad])
        return np.concatenate(outs)

    def _run_qonnx(self, x: np.ndarray) -> np.ndarray:
        """QONNX in qonnx's executor, which needs every tensor shape, batch included, fixed."""
        from qonnx.core.onnx_exec import execute_onnx

        key = ("qonnx", len(x))
        if key not in self._sessions:
            self._sessions[key] = _qonnx_executable(self.original, len(x))
        wrapper = self._sessions[key]
        result = execute_onnx(wrapper, {_real_inputs(wrapper.graph)[0].name: x})
        return result[wrapper.graph.output[0].name]


# ---------------------------------------------------------------- loading and checking


def load_onnx_file(path: Path) -> OnnxModel:
    """Load, check and preprocess an ONNX or QONNX file for hls4ml (see the module docstring)."""
    path = Path(path)
    original = _read_onnx(path)
    graph = original.graph
    is_qonnx = any(node.op_type in _QONNX_OPS for node in graph.node)
    _check_single_io(path, graph)
    inputs = InputSpec(_input_shape(path, graph))
    _check_quant_rounding(path, graph)
    notes = _strip_trailing_passthrough(original)
    processed = _preprocess_checked(path, original)

    input_precision, reason = None, None
    if is_qonnx:
        quant = _input_quant(processed)
        if quant is not None:
            quant_range = _quant_range(processed, quant)
            if quant_range is not None:
                inputs = InputSpec(inputs.shape, *quant_range)
            input_precision = _quant_fixed_type(processed, quant)
        reason = _bit_exact_reason(processed, input_precision)
        notes.append("bit-exact check expected" if reason is None else f"not bit-exact: {reason}")
        notes.extend(_rescaling_warning(processed))
    if len(inputs.shape) > 1:
        notes.append(
            f"inputs are in the ONNX graph's own layout {inputs.shape} (e.g. channels-first for PyTorch exports)"
        )
    return OnnxModel(
        name=path.stem,
        source_format="qonnx" if is_qonnx else "onnx",
        model=processed,
        inputs=inputs,
        expect_bit_exact=is_qonnx and reason is None,
        notes=notes,
        original=original,
        input_precision=input_precision,
    )


def _read_onnx(path: Path):
    """Parse the protobuf; a file that is not ONNX is refused here rather than deep in qonnx."""
    import onnx

    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        model = onnx.load(str(path))
    except Exception as err:  # protobuf DecodeError, external-data OSError, ...
        raise UserError(f"{path}: not a valid ONNX model ({type(err).__name__}: {_first_line(err)})") from None
    # Arbitrary bytes sometimes decode as an (empty) ModelProto, so check there is a graph.
    if not model.HasField("graph") or len(model.graph.node) == 0:
        raise UserError(f"{path}: not an ONNX model (no graph nodes); is the file corrupt or another format?")
    return model


def _check_single_io(path: Path, graph: Any) -> None:
    inputs, outputs = _real_inputs(graph), list(graph.output)
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise UserError(f"{path}: graph has {len(inputs)} inputs ({names}); fpgaml builds single-input models")
    if len(outputs) != 1:
        names = ", ".join(o.name for o in outputs)
        raise UserError(f"{path}: graph has {len(outputs)} outputs ({names}); fpgaml builds single-output models")


def _input_shape(path: Path, graph: Any) -> tuple[int, ...]:
    """Per-sample input shape; hls4ml takes the first dimension as the batch and drops it."""
    inp = _real_inputs(graph)[0]
    dims = inp.type.tensor_type.shape.dim
    if len(dims) < 2:
        raise UserError(f"{path}: input '{inp.name}' has rank {len(dims)}; expected a batch dimension first")
    shape = tuple(d.dim_value for d in dims[1:])
    if any(d <= 0 for d in shape):
        raise UserError(f"{path}: input '{inp.name}' has a dynamic non-batch dimension; hls4ml needs fixed sizes")
    return shape


def _check_quant_rounding(path: Path, graph: Any) -> None:
    """hls4ml implements only two Quant rounding modes; say so before it fails mid-conversion."""
    from onnx import helper

    for node in graph.node:
        if node.op_type not in _QUANT_OPS:
            continue
        mode = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "rounding_mode"), b"ROUND")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        if mode not in _HLS4ML_ROUNDING:
            raise UserError(
                f"{path}: node '{node.name}' ({node.op_type}) uses rounding_mode {mode}; "
                f"hls4ml supports {', '.join(_HLS4ML_ROUNDING)}"
            )


def _strip_trailing_passthrough(model: Any) -> list[str]:
    """Remove Identity/Dropout nodes that produce the graph output.

    Workaround for hls4ml 1.3.0: parse_onnx_model skips Identity/Dropout nodes but
    get_out_layer_name still names the skipped node as the model output, so the generated
    top function gets an empty output port and g++ fails. qonnx's GemmToMatMul happens to
    remove Identity nodes (it runs RemoveIdentityOps), but a MatMul graph never reaches it.
    The producer of the Identity's input is rewired to write the graph output directly.
    """
    graph, notes = model.graph, []
    out_name = graph.output[0].name
    while True:
        node = next((n for n in graph.node if out_name in n.output), None)
        if node is None or node.op_type not in _HLS4ML_SKIPPED_OPS or len(node.input) == 0:
            return notes
        src = node.input[0]
        producer = next((n for n in graph.node if src in n.output), None)
        if producer is None:  # the graph input (or a constant) goes straight to the output
            return notes
        for other in graph.node:
            other.input[:] = [out_name if name == src else name for name in other.input]
        producer.output[:] = [out_name if name == src else name for name in producer.output]
        graph.node.remove(node)
        for info in [v for v in graph.value_info if v.name == src]:
            graph.value_info.remove(info)
        notes.append(f"removed trailing {node.op_type} node '{node.name}' (hls4ml 1.3 would emit no output port)")


def _preprocess(model: Any):
    """The qonnx sequence from hls4ml's ONNX/QONNX docs: clean, channels-last, Gemm->MatMul, clean.

    ``make_input_channels_last=False`` keeps the graph input in the model's own layout (a
    Transpose at the input does the conversion), so the user's arrays feed both the C-sim
    and the reference unchanged.
    """
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.transformation.gemm_to_matmul import GemmToMatMul
    from qonnx.util.cleanup import cleanup_model

    wrapper = ModelWrapper(copy.deepcopy(model))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GemmToMatMul warns for every opset other than 9
        wrapper = cleanup_model(wrapper)
        wrapper = wrapper.transform(ConvertToChannelsLastAndClean(make_input_channels_last=False))
        wrapper = wrapper.transform(GemmToMatMul())
        wrapper = cleanup_model(wrapper)
    return wrapper


def _preprocess_checked(path: Path, original: Any):
    """Preprocess, then refuse ops hls4ml cannot convert, naming the user's node.

    The check runs on the preprocessed graph because preprocessing legitimately removes ops
    hls4ml lacks (Gemm, Constant, Shape/Gather chains that fold away). If preprocessing itself
    fails, an unsupported op in the original graph is the likelier cause, so report that.
    """
    supported = _hls4ml_onnx_ops()
    try:
        processed = _preprocess(original)
    except Exception as err:
        for node in original.graph.node:
            if node.op_type not in supported and node.op_type not in ("Gemm", "Constant"):
                raise UserError(_unsupported_message(path, node.name, node.op_type, supported)) from None
        raise UserError(f"{path}: qonnx preprocessing failed ({type(err).__name__}: {_first_line(err)})") from None
    for node in processed.graph.node:
        if node.op_type not in supported:
            # qonnx renamed the nodes (GiveUniqueNodeNames); report the user's name for that op type
            name = next((n.name for n in original.graph.node if n.op_type == node.op_type and n.name), node.name)
            raise UserError(_unsupported_message(path, name, node.op_type, supported))
    return processed


def _hls4ml_onnx_ops() -> set[str]:
    """Op types hls4ml converts (its registered ONNX handlers) plus those it skips."""
    import hls4ml

    return set(hls4ml.converters.get_supported_onnx_layers()) | set(_HLS4ML_SKIPPED_OPS)


def _unsupported_message(path: Path, name: str, op_type: str, supported: set[str]) -> str:
    return (
        f"{path}: node '{name}' has op_type {op_type}, which hls4ml's ONNX frontend does not support; "
        f"supported op types: {', '.join(sorted(supported))}"
    )


# ---------------------------------------------------------------- QONNX quantizers


def _input_quant(wrapper: Any):
    """The Quant node that reads the graph input directly, if that is the input's only consumer."""
    name = wrapper.graph.input[0].name
    consumers = [n for n in wrapper.graph.node if name in n.input]
    if len(consumers) == 1 and consumers[0].op_type in _QUANT_OPS and consumers[0].input[0] == name:
        return consumers[0]
    return None


def _quant_params(wrapper: Any, node: Any) -> dict | None:
    """Scale, zero point, bit width and attributes of a Quant node with constant parameters."""
    from onnx import helper

    values = [wrapper.get_initializer(name) for name in node.input[1:4]]
    if len(values) != 3 or any(v is None for v in values):
        return None
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    mode = attrs.get("rounding_mode", b"ROUND")
    return {
        "scale": np.asarray(values[0], dtype=np.float64),
        "zeropt": np.asarray(values[1], dtype=np.float64),
        "bits": int(np.asarray(values[2]).ravel()[0]),
        "signed": bool(attrs.get("signed", 1)),
        "narrow": bool(attrs.get("narrow", 0)),
        "rounding": mode.decode() if isinstance(mode, bytes) else str(mode),
    }


def _quant_range(wrapper: Any, node: Any) -> tuple[float, float] | None:
    """Representable range of the input Quant, so test inputs cover it, saturation included."""
    p = _quant_params(wrapper, node)
    if p is None:
        return None
    bits, signed, narrow = p["bits"], p["signed"], p["narrow"]
    lo_int = -(2 ** (bits - 1)) + int(narrow) if signed else 0
    hi_int = 2 ** (bits - 1) - 1 if signed else 2**bits - 1 - int(narrow)
    scale, zeropt = p["scale"], p["zeropt"]
    low, high = float(np.min(scale * (lo_int - zeropt))), float(np.max(scale * (hi_int - zeropt)))
    return (low, high) if np.isfinite(low) and np.isfinite(high) and high > low else None


def _po2_exponent(scale: np.ndarray) -> int | None:
    """k with scale == 2**k for a scalar (or uniform) scale, else None."""
    values = np.unique(scale.ravel())
    if values.size != 1 or values[0] <= 0:
        return None
    mantissa, exponent = np.frexp(values[0])
    return int(exponent) - 1 if mantissa == 0.5 else None


def _quant_fixed_type(wrapper: Any, node: Any) -> str | None:
    """The ap_fixed type whose float->fixed conversion is this Quant, or None if there is none.

    A power-of-two scale 2**k and zero offset make Quant(x) = clip(round(x / 2**k)) * 2**k,
    which is exactly ap_[u]fixed<bits, bits + k, RND_CONV|TRN, SAT|SAT_SYM> built from x.
    """
    p = _quant_params(wrapper, node)
    if p is None or np.any(p["zeropt"] != 0) or p["rounding"] not in _HLS4ML_ROUNDING or p["bits"] < 2:
        return None
    k = _po2_exponent(p["scale"])
    if k is None or (p["narrow"] and not p["signed"]):
        return None
    rounding = _HLS4ML_ROUNDING[p["rounding"]]
    saturation = "SAT_SYM" if p["narrow"] else "SAT"
    kind = "fixed" if p["signed"] else "ufixed"
    return f"{kind}<{p['bits']},{p['bits'] + k},{rounding},{saturation}>"


def _bit_exact_reason(wrapper: Any, input_precision: str | None) -> str | None:
    """Why hls4ml will not reproduce this QONNX graph bit for bit, or None when it will.

    Exactness needs every value on a power-of-two grid hls4ml can type exactly: the input
    typed as its Quant, every Quant power-of-two with zero offset, MatMul inputs and weights
    and Add biases quantized by Quant nodes (unquantized constants get the default
    precision), and every Relu followed by a Quant (otherwise its result takes the default
    precision). hls4ml then sizes accumulators without loss; the remaining risk is the
    reference itself, which qonnx computes in float32 (see :func:`_float32_exact`).
    """
    if input_precision is None:
        return "the graph input does not go straight into a power-of-two, zero-offset Quant"
    graph = wrapper.graph
    quantized_constants = {
        n.output[0] for n in graph.node if n.op_type in _QUANT_OPS and wrapper.get_initializer(n.input[0]) is not None
    }
    for node in graph.node:
        if node.op_type not in _BIT_EXACT_OPS:
            return f"op {node.op_type} is not among those shown bit-exact ({', '.join(sorted(_BIT_EXACT_OPS))})"
        if node.op_type in _QUANT_OPS and _quant_fixed_type(wrapper, node) is None:
            return f"Quant node '{node.name}' is not a power-of-two, zero-offset ROUND/FLOOR quantizer"
        if node.op_type == "MatMul":
            if node.input[1] not in quantized_constants or _quant_grid(wrapper, node.input[0]) is None:
                return f"MatMul node '{node.name}' has an unquantized input or unquantized weights"
            if not _float32_exact(wrapper, node):
                return f"MatMul node '{node.name}' may exceed float32's 24-bit mantissa, so the qonnx reference rounds"
        if node.op_type == "Add":
            others = [i for i in node.input if i not in quantized_constants]
            producer = wrapper.find_producer(others[0]) if len(others) == 1 else None
            if producer is None or producer.op_type != "MatMul":
                return f"Add node '{node.name}' is not a quantized bias added to a MatMul"
        if node.op_type == "Relu":
            consumers = [n for n in graph.node if node.output[0] in n.input]
            if not consumers or any(c.op_type not in _QUANT_OPS for c in consumers):
                return f"Relu node '{node.name}' is not followed by a Quant"
    return None


def _quant_grid(wrapper: Any, tensor: str) -> tuple[np.ndarray, float] | None:
    """(bound on |value| per element, LSB) of a tensor a power-of-two Quant produces, else None.

    For a quantized constant the bound is per element (the raw value plus one LSB covers the
    rounded one); for an activation it is the quantizer's largest magnitude.
    """
    node = wrapper.find_producer(tensor)
    p = _quant_params(wrapper, node) if node is not None and node.op_type in _QUANT_OPS else None
    k = _po2_exponent(p["scale"]) if p is not None else None
    if k is None:
        return None
    lsb = 2.0**k
    data = wrapper.get_initializer(node.input[0])
    if data is not None:
        return np.abs(np.asarray(data, dtype=np.float64)) + lsb, lsb
    largest = 2 ** (p["bits"] - 1) if p["signed"] else 2 ** p["bits"] - 1
    return np.asarray(largest * lsb), lsb


def _float32_exact(wrapper: Any, matmul: Any) -> bool:
    """Whether qonnx's float32 execution of MatMul (+ its bias Add) is exact for every input.

    All partial sums are integer multiples of the finest LSB involved and bounded by
    max|x| * sum_i |W_ij| + |b_j|; float32 holds such integers exactly below 2**24. hls4ml's
    fixed-point accumulator is exact regardless, so past that bound the reference would be
    the one rounding and a correct design could fail the bit-exact check.
    """
    x, w = _quant_grid(wrapper, matmul.input[0]), _quant_grid(wrapper, matmul.input[1])
    if x is None or w is None:
        return False
    bound = float(np.max(x[0])) * np.sum(w[0], axis=-2)
    lsb = x[1] * w[1]
    consumers = [n for n in wrapper.graph.node if matmul.output[0] in n.input]
    if len(consumers) == 1 and consumers[0].op_type == "Add":
        for name in consumers[0].input:
            bias = _quant_grid(wrapper, name) if name != matmul.output[0] else None
            if bias is not None:
                bound, lsb = bound + bias[0], min(lsb, bias[1])
    return float(np.max(bound)) / lsb < 2.0**24


def _rescaling_warning(wrapper: Any) -> list[str]:
    """Warn about quantizers hls4ml implements by rescaling, which lose accuracy at default precision.

    For a Quant whose scale is not a power of two (or whose zero point is not 0) hls4ml 1.3
    inserts ApplyAlpha layers (names ending in _scale, bn_*) whose scale constants take the
    default precision: with ap_fixed<16,6> a Brevitas Int8*PerTensorFloat MLP measured a max
    error of ~4 on outputs of ~4 (still ~1 at ap_fixed<32,16>).
    """
    for node in wrapper.graph.node:
        p = _quant_params(wrapper, node) if node.op_type in _QUANT_OPS else None
        if p is not None and (_po2_exponent(p["scale"]) is None or np.any(p["zeropt"] != 0)):
            return [
                f"Quant node '{node.name}' has a non-power-of-two scale or a zero offset: hls4ml rescales it with "
                "ApplyAlpha layers whose constants take the default precision; widen their precision if the "
                "C-sim check fails"
            ]
    return []


def _hls4ml_input_name(wrapper: Any) -> str:
    """The name hls4ml gives the input layer (parse_onnx_model's sanitising of the tensor name)."""
    from hls4ml.converters.onnx_to_hls import replace_char_inconsitency, sanitize_layer_name

    layer = {"name": replace_char_inconsitency(wrapper.graph.input[0].name), "class_name": "InputLayer"}
    sanitize_layer_name(layer)
    return layer["name"]


def _qonnx_executable(original: Any, batch: int):
    """A copy of the user's graph that qonnx's executor runs on a batch of the given size."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.change_batchsize import ChangeBatchSize
    from qonnx.transformation.infer_shapes import InferShapes

    model = copy.deepcopy(original)
    for node in model.graph.node:
        # Brevitas exports the QONNX ops in its own domain; qonnx executes them under its own
        # (the same re-labelling qonnx.util.cleanup does).
        if node.op_type in _QONNX_OPS:
            node.domain = "qonnx.custom_op.general"
    wrapper = ModelWrapper(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return wrapper.transform(ChangeBatchSize(batch)).transform(InferShapes())


# ---------------------------------------------------------------- small helpers


def _real_inputs(graph: Any) -> list:
    """Graph inputs that are data, not initializers listed as inputs (old exporters do that)."""
    initializers = {t.name for t in graph.initializer}
    return [i for i in graph.input if i.name not in initializers]


def _fixed_batch(graph: Any) -> int:
    dims = _real_inputs(graph)[0].type.tensor_type.shape.dim
    return int(dims[0].dim_value) if dims and dims[0].HasField("dim_value") else 0


def _np_dtype(elem_type: int) -> np.dtype:
    from onnx import helper

    try:
        return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, TypeError, ValueError):
        return np.dtype(np.float32)


def _count_params(graph: Any) -> int:
    """Elements of floating-point initializers, leaving out Quant scale/zero-point/bit-width inputs."""
    from onnx import TensorProto

    quant_params = {name for n in graph.node if n.op_type in _QONNX_OPS for name in n.input[1:]}
    float_types = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}
    return int(
        sum(
            int(np.prod(t.dims, dtype=np.int64))
            for t in graph.initializer
            if t.data_type in float_types and t.name not in quant_params
        )
    )


def _check_batch(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if x.shape[1:] != tuple(shape):
        raise UserError(f"inputs have per-sample shape {x.shape[1:]}, the model expects {tuple(shape)} (batch first)")
    return x


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
