"""hls4ml side of :class:`~.layers.QLayerNormalization`: parser, layer, templates, bit-exact rule.

Everything here goes through hls4ml 1.3's extension points: a Keras-v3 layer handler
(``KerasV3LayerHandler`` subclass, found by the class path of the Keras layer), a new
ModelGraph layer (``register_layer``), config/function templates and the C++ header
(``Backend.register_template`` / ``register_source``, which the writer copies into
``firmware/nnet_utils/``), and one rule for hls4ml's bit-exact precision pass, which
dispatches on the layer class and refuses classes it does not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from pathlib import Path
from typing import Any

import numpy as np
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
from hls4ml.converters.keras_v3.hgq2._base import QLayerHandler
from hls4ml.model.attributes import Attribute, TypeAttribute, WeightAttribute
from hls4ml.model.layers import Layer
from hls4ml.model.types import FixedPrecisionType, IntegerPrecisionType, NamedType

HLS_CLASS = "FpgamlLayerNorm"
HEADER = "nnet_fpgaml_layernorm.h"
KERAS_CLASS = "fpgaml.compiler.extensions.layers.QLayerNormalization"

_INT_ATTRS = (
    "dim", "seq_len", "in_frac", "x_width", "sum_width", "d_width", "var_shift", "dv_width", "v_width",
    "w_shift", "e_lo", "e_hi", "mant_bits", "table_size", "h_width", "p_shift", "norm_int", "norm_frac",
)  # fmt: skip


def header_path() -> Path:
    """The kernel header, shipped as package data of ``fpgaml.firmware_templates``."""
    from ... import firmware_templates

    return Path(firmware_templates.__file__).resolve().parent / HEADER


class FpgamlLayerNorm(Layer):
    """ModelGraph node of the bit-exact LayerNorm; weights: scale (gamma), bias (beta), table."""

    _expected_attributes = [
        Attribute("n_in"),
        *(Attribute(name, value_type=int) for name in _INT_ATTRS),
        WeightAttribute("scale"),
        WeightAttribute("bias"),
        WeightAttribute("table"),
        TypeAttribute("scale"),
        TypeAttribute("bias"),
        TypeAttribute("table"),
        TypeAttribute("accum"),
    ]

    def initialize(self) -> None:
        self.add_output_variable(self.get_input_variable().shape)
        table = np.asarray(self.get_attr("table_data"))
        # Exact even without hls4ml's bit-exact pass (HLSConfig Model.BitExact: false); the pass
        # derives the same type from produce_kif when it runs.
        kif = _affine_kif(self, self.get_attr("scale_data"), self.get_attr("bias_data"))
        k, i, f = (int(np.max(a)) for a in kif)
        accum = FixedPrecisionType(max(k + i + f, 1), k + i, bool(k))
        self.set_attr("accum_t", NamedType(f"{self.name}_accum_t", accum))
        self.add_weights_variable(name="scale", var_name="lns{index}", data=self.get_attr("scale_data"),
                                  precision=_exact_type(self.get_attr("scale_data")))
        self.add_weights_variable(name="bias", var_name="lnb{index}", data=self.get_attr("bias_data"),
                                  precision=_exact_type(self.get_attr("bias_data")))
        self.add_weights_variable(name="table", var_name="lnt{index}", data=table,
                                  precision=IntegerPrecisionType(int(self.get_attr("h_width")), signed=False))


def _exact_type(values: np.ndarray) -> FixedPrecisionType:
    """The narrowest fixed-point type holding every (already quantized) value exactly."""
    from hls4ml.utils.qinterval import minimal_kif

    k, i, f = (int(np.max(a)) for a in minimal_kif(np.asarray(values, dtype=np.float64)))
    width = max(k + i + f, 1)
    return FixedPrecisionType(width, k + i, signed=bool(k))


class QLayerNormalizationHandler(QLayerHandler):
    """Keras-v3 parser: QLayerNormalization -> input quantizer + FpgamlLayerNorm (+ output quantizer).

    ``QLayerHandler`` emits HGQ2's input/output quantizers as FixedPointQuantizer nodes, as it
    does for every HGQ2 layer; this handler adds the static datapath read from the layer.
    """

    handles = (KERAS_CLASS,)

    def handle(self, layer: Any, in_tensors: Sequence[Any], out_tensors: Sequence[Any]) -> dict[str, Any]:
        from keras import ops

        shape = tuple(int(d) for d in in_tensors[0].shape[1:])
        path = layer.datapath()
        table = layer.table
        ints = {
            "dim": layer.dim,
            "seq_len": prod(shape[:-1]),
            "in_frac": path.in_frac,
            "x_width": path.x_width,
            "sum_width": path.sum_width,
            "d_width": path.d_width,
            "var_shift": path.var_shift,
            "dv_width": path.dv_width,
            "v_width": path.v_width,
            "w_shift": path.w_shift,
            "e_lo": table.e_lo,
            "e_hi": table.e_hi,
            "mant_bits": table.mantissa_bits,
            "table_size": table.size,
            "h_width": table.width,
            "p_shift": path.p_shift,
            "norm_int": path.norm_int_bits,
            "norm_frac": path.norm_frac_bits,
        }
        return {
            "class_name": HLS_CLASS,
            "n_in": prod(shape),
            **{k: int(v) for k, v in ints.items()},
            "scale_data": np.asarray(ops.convert_to_numpy(layer.qgamma), dtype=np.float64),
            "bias_data": np.asarray(ops.convert_to_numpy(layer.qbeta), dtype=np.float64),
            "table_data": np.asarray(table.values, dtype=np.float64),
        }


_CONFIG_TEMPLATE = """struct config{index} : nnet::fpgaml_layernorm_config {{
    static const unsigned n_in = {n_in};
    static const unsigned seq_len = {seq_len};
    static const unsigned dim = {dim};
    static const int in_frac = {in_frac};
    static const unsigned x_width = {x_width};
    static const unsigned sum_width = {sum_width};
    static const unsigned d_width = {d_width};
    static const unsigned var_shift = {var_shift};
    static const unsigned dv_width = {dv_width};
    static const unsigned v_width = {v_width};
    static const int w_shift = {w_shift};
    static const int e_lo = {e_lo};
    static const int e_hi = {e_hi};
    static const unsigned mant_bits = {mant_bits};
    static const unsigned table_size = {table_size};
    static const unsigned h_width = {h_width};
    static const int p_shift = {p_shift};
    static const unsigned norm_int = {norm_int};
    static const unsigned norm_frac = {norm_frac};
    static const unsigned io_type = nnet::{iotype};
    static const unsigned reuse_factor = {reuse};
    typedef {accum_t.name} accum_t;
    typedef {scale_t.name} scale_t;
    typedef {bias_t.name} bias_t;
    typedef {table_t.name} table_t;
}};\n"""

_FUNCTION_TEMPLATE = (
    "nnet::fpgaml_layernorm<{input_t}, {output_t}, {config}>({input}, {output}, {scale}, {bias}, {table});"
)


class FpgamlLayerNormConfigTemplate(LayerConfigTemplate):
    def __init__(self) -> None:
        super().__init__(FpgamlLayerNorm)
        self.template = _CONFIG_TEMPLATE

    def format(self, node: Any) -> str:
        if node.model.config.get_config_value("IOType") != "io_parallel":
            # A NotImplementedError is how hls4ml refuses a configuration (fpgaml maps it to one line).
            raise NotImplementedError(f"layer '{node.name}' (QLayerNormalization) supports io_parallel only")
        return self.template.format(**self._default_config_params(node))


class FpgamlLayerNormFunctionTemplate(FunctionCallTemplate):
    def __init__(self) -> None:
        super().__init__(FpgamlLayerNorm, include_header=[f"nnet_utils/{HEADER}"])
        self.template = _FUNCTION_TEMPLATE

    def format(self, node: Any) -> str:
        params = self._default_function_params(node)
        for name in ("scale", "bias", "table"):
            params[name] = node.get_weights(name).name
        return self.template.format(**params)


def _affine_kif(layer: Layer, scale: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, i, f) per output element of N * 2**-fn * gamma + beta, by interval arithmetic."""
    from hls4ml.utils.qinterval import QIntervalArray

    shape = tuple(layer.get_output_variable().shape)
    k = np.ones(shape, dtype=np.int16)
    i = np.full(shape, layer.get_attr("norm_int"), dtype=np.int16)
    f = np.full(shape, layer.get_attr("norm_frac"), dtype=np.int16)
    k, i, f = (QIntervalArray.from_kif(k, i, f) * np.asarray(scale) + np.asarray(bias)).to_kif()
    return k.astype(np.int16), i.astype(np.int16), f.astype(np.int16)


def produce_kif(layer: FpgamlLayerNorm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Output (k, i, f) for hls4ml's bit-exact pass, which refuses layer classes it has no rule for."""
    return _affine_kif(layer, layer.get_weights("scale").data, layer.get_weights("bias").data)
