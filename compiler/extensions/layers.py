"""Keras layers fpgaml adds for transformers: a LayerNorm whose Keras arithmetic is the hardware's.

``QLayerNormalization`` normalises over the last axis (Keras' default ``axis=-1``) of inputs
of any rank, e.g. (sequence, features). It is an HGQ2 layer: its input quantizer is
calibrated by ``hgq.utils.trace_minmax`` like every other HGQ2 layer, and gamma/beta are
quantized by HGQ2 weight quantizers. In inference (and calibration) the forward pass is the
integer datapath of :mod:`.fixed_layernorm`, computed in int64, so the C-simulation of the
generated HLS matches it bit for bit. In training the float LayerNorm supplies the gradient
(straight-through), since integer ops have none.

Registered as a Keras serializable (package ``fpgaml``), so ``.keras`` files holding it
load with ``safe_mode=True`` once this module is imported.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from hgq.layers.core.base import QLayerBaseSingleInput
from hgq.quantizer import Quantizer, QuantizerConfig
from hgq.quantizer.internal import FixedPointQuantizerBase
from keras import ops

from .fixed_layernorm import MAX_SHIFT, Datapath, IsqrtTable, datapath, isqrt_table


def _shift_floor(x: Any, right: Any) -> Any:
    """floor(x * 2**-right) for int64 ``x`` and an int64 shift that may be negative."""
    r = ops.minimum(ops.maximum(right, 0), MAX_SHIFT)
    left = ops.minimum(ops.maximum(-right, 0), MAX_SHIFT)
    return ops.where(right >= 0, ops.right_shift(x, r), ops.left_shift(x, left))


def _floor_log2(v: Any, width: int = MAX_SHIFT) -> Any:
    """floor(log2(v)) for int64 v >= 1 (0 for v = 0), by exact comparisons, not floats."""
    powers = ops.convert_to_tensor(np.left_shift(np.int64(1), np.arange(1, width + 1, dtype=np.int64)))
    return ops.sum(ops.cast(ops.expand_dims(v, -1) >= powers, "int64"), axis=-1)


def _isqrt_index(v: Any, path: Datapath, table: IsqrtTable) -> Any:
    """Table index for v = sum((d >> r)**2): exponent bucket of var * D**3, then mantissa bits."""
    m_bits = table.mantissa_bits
    one_m = 1 << m_bits
    e_v = _floor_log2(v)
    e_w = e_v + path.w_shift
    m_norm = _shift_floor(v, e_v - m_bits) - one_m
    idx_norm = (e_w - table.e_lo + 1) * one_m + m_norm
    idx_sub = _shift_floor(v, table.e_lo - m_bits - path.w_shift)
    idx = ops.where(e_w < table.e_lo, idx_sub, ops.where(e_w > table.e_hi, table.size - 1, idx_norm))
    return ops.clip(ops.where(v == 0, 0, idx), 0, table.size - 1)


@keras.saving.register_keras_serializable(package="fpgaml")
class QLayerNormalization(QLayerBaseSingleInput):
    """Layer normalisation over the last axis with a fixed-point datapath that HLS reproduces exactly.

    Args:
        axis: only -1 (the last axis) is supported; kept for Keras familiarity.
        epsilon: added to the variance, as in ``keras.layers.LayerNormalization``.
        norm_frac_bits: fractional bits of the normalised value before gamma/beta.
        isqrt_mantissa_bits: mantissa bits indexing the 1/sqrt table (relative error of
            1/sqrt about 2**-(bits+2); the table has (exponent buckets) * 2**bits entries).
        max_variance: variances above this saturate the table (the output is then slightly
            too large, never wrapped).
        kq_conf, bq_conf: HGQ2 quantizer configs for gamma and beta.
        iq_conf: HGQ2 config of the input quantizer; it must be a fixed-point quantizer.
    """

    def __init__(
        self,
        axis: int = -1,
        epsilon: float = 1e-3,
        norm_frac_bits: int = 8,
        isqrt_mantissa_bits: int = 5,
        max_variance: float = 1024.0,
        gamma_initializer: Any = "ones",
        beta_initializer: Any = "zeros",
        kq_conf: QuantizerConfig | None = None,
        bq_conf: QuantizerConfig | None = None,
        **kwargs: Any,
    ) -> None:
        if axis not in (-1, [-1], (-1,)):
            raise ValueError(f"QLayerNormalization normalises the last axis only (axis=-1), got axis={axis}")
        if kwargs.get("enable_iq") is False:
            raise ValueError("QLayerNormalization needs its input quantizer: the datapath is defined on its grid")
        kwargs["enable_iq"] = True
        super().__init__(**kwargs)
        self.axis = -1
        self.epsilon = float(epsilon)
        self.norm_frac_bits = int(norm_frac_bits)
        self.isqrt_mantissa_bits = int(isqrt_mantissa_bits)
        self.max_variance = float(max_variance)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self._kq = Quantizer(kq_conf or QuantizerConfig("default", "weight"), name=f"{self.name}_kq")
        self._bq = Quantizer(bq_conf or QuantizerConfig("default", "bias"), name=f"{self.name}_bq")

    @property
    def kq(self) -> Quantizer:
        return self._kq

    @property
    def bq(self) -> Quantizer:
        return self._bq

    def build(self, input_shape: tuple) -> None:
        dim = int(input_shape[-1])
        self.ln_gamma = self.add_weight(name="gamma", shape=(dim,), initializer=self.gamma_initializer)
        self.ln_beta = self.add_weight(name="beta", shape=(dim,), initializer=self.beta_initializer)
        self.kq.build((dim,))
        self.bq.build((dim,))
        super().build(input_shape)
        plain = self.iq.scaler is None and self.iq.affine is None
        if not isinstance(self.iq.quantizer, FixedPointQuantizerBase) or not plain:
            raise ValueError(f"{self.name}: the input quantizer must be a plain fixed-point (kif/kbi) quantizer")

    @property
    def dim(self) -> int:
        return int(self.ln_gamma.shape[0])

    @property
    def table(self) -> IsqrtTable:
        return isqrt_table(self.dim, self.epsilon, self.isqrt_mantissa_bits, self.max_variance)

    @property
    def qgamma(self) -> Any:
        return self.kq(self.ln_gamma)

    @property
    def qbeta(self) -> Any:
        return self.bq(self.ln_beta)

    def input_kif_max(self) -> tuple[Any, Any, Any]:
        """(k, i, f) of the input grid as int64 scalars: the largest over all elements."""
        k, i, f = (ops.cast(ops.max(ops.cast(t, "float32")), "int64") for t in self.iq.quantizer.kif)
        return k, i, f

    def datapath(self) -> Datapath:
        """The static widths for the current input quantizer, as Python ints (for HLS)."""
        _, i, f = (int(ops.convert_to_numpy(t)) for t in self.input_kif_max())
        return datapath(i, f, self.dim, self.table, self.norm_frac_bits)

    def _integer_stats(self, x: Any) -> tuple[Any, Any, Datapath]:
        """d = D*X - sum(X) per element and v = sum((d >> r)**2) per token, in int64."""
        _, i_max, f_max = self.input_kif_max()
        path = datapath(i_max, f_max, self.dim, self.table, self.norm_frac_bits, maximum=ops.maximum)
        scale_in = ops.power(ops.cast(2.0, "float32"), ops.cast(f_max, "float32"))
        big_x = ops.cast(ops.round(ops.cast(x, "float32") * scale_in), "int64")
        d = self.dim * big_x - ops.sum(big_x, axis=-1, keepdims=True)
        dv = ops.right_shift(d, path.var_shift)
        return d, ops.sum(dv * dv, axis=-1, keepdims=True), path

    def table_index(self, x: Any) -> Any:
        """The 1/sqrt table entry each token of the (already quantized) input uses."""
        _, v, path = self._integer_stats(x)
        return _isqrt_index(v, path, self.table)

    def normalized_exact(self, x: Any) -> Any:
        """The normalised value (x - mean)/sqrt(var + eps) exactly as the HLS kernel computes it."""
        table = self.table
        d, v, path = self._integer_stats(x)
        idx = _isqrt_index(v, path, table)
        h = ops.take(ops.convert_to_tensor(table.values), idx)

        n = _shift_floor(d * h, path.p_shift)
        limit = 1 << (path.norm_int_bits + path.norm_frac_bits)
        n = ops.clip(n, -limit, limit - 1)
        return ops.cast(n, "float32") * (2.0 ** -path.norm_frac_bits)

    def _normalized_float(self, x: Any) -> Any:
        mean = ops.mean(x, axis=-1, keepdims=True)
        var = ops.var(x, axis=-1, keepdims=True)
        return (x - mean) / ops.sqrt(var + self.epsilon)

    def call(self, inputs: Any, training: Any = None) -> Any:
        x = self.iq(inputs, training=training)
        n = self.normalized_exact(x)
        if training is True:  # straight-through: exact values forward, float LayerNorm gradient back
            n_float = self._normalized_float(x)
            n = n_float + ops.stop_gradient(n - n_float)
        return n * self.kq(self.ln_gamma, training=training) + self.bq(self.ln_beta, training=training)

    def _compute_ebops(self, shape: tuple) -> Any:
        """HGQ2's resource proxy: adders for sum and deviation, one multiplier per feature."""
        bw_inp = ops.cast(self.iq.bits_(shape), "float32")
        bw_gamma = ops.cast(self.kq.bits_((self.dim,)), "float32")
        n_bits = float(self.norm_frac_bits + 4)
        n_tokens = float(np.prod(shape[1:-1])) if len(shape) > 2 else 1.0
        return 3.0 * ops.sum(bw_inp) + n_tokens * n_bits * ops.sum(bw_gamma)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "epsilon": self.epsilon,
                "norm_frac_bits": self.norm_frac_bits,
                "isqrt_mantissa_bits": self.isqrt_mantissa_bits,
                "max_variance": self.max_variance,
                "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
                "beta_initializer": keras.initializers.serialize(self.beta_initializer),
                "kq_conf": self.kq.config,
                "bq_conf": self.bq.config,
            }
        )
        config.pop("enable_iq", None)
        return keras.saving.serialize_keras_object(config)
