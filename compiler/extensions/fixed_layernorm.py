"""The integer datapath of fpgaml's bit-exact LayerNorm, shared by the Keras layer and the HLS kernel.

hls4ml 1.3's LayerNormalization computes mean, variance and 1/sqrt in whatever ``accum_t``
and linear table it is given, so its C-simulation only approximates Keras (differences of
0.1 to 4.5 on unit-range inputs) and it cannot be bit-exact. Here every step is defined as
integer arithmetic on the input's fixed-point grid, so the Keras layer
(:mod:`.layers`) and the C++ kernel (``nnet_fpgaml_layernorm.h``) compute the same bits:

1. ``X = x * 2**F``: the input quantizer guarantees ``x`` lies on a ``2**-F`` grid.
2. ``d = D*X - sum(X)`` is ``D * (x - mean) * 2**F`` exactly: no division by D.
3. ``v = sum((d >> r)**2)``: the variance times ``D**3 * 2**(2F - 2r)``; the floor shift
   ``r`` keeps each square below 2**48 so the sum fits int64 in Keras.
4. ``h = table[index(v)]``: 1/(D*sqrt(var + eps)) from a table indexed by a floating-point
   split of ``v`` (exponent bucket + ``M`` mantissa bits), so the relative error of the
   inverse square root is the same (about 2**-(M+2)) for small and large variances, where a
   linear table (hls4ml's) loses all precision at small variance.
5. ``N = floor(d * h * 2**(fn - F - fh))`` saturated to ``norm_int_bits``: the normalised
   value with ``fn`` fractional bits, then ``y = N * 2**-fn * gamma + beta`` with quantized
   gamma and beta (exact: the product and sum are computed at full width).

Only the table and the static widths live here; the per-call arithmetic is written twice, in
Keras ops (:mod:`.layers`) and in C++, and the tests compare the two bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np

# |d >> r| < 2**(MAX_DEVIATION_BITS - 1), so d**2 < 2**46 and the sum over up to 2**16
# features stays below 2**63 (Keras computes it in int64).
MAX_DEVIATION_BITS = 24
# Shift amounts are clamped to this in Keras so no int64 shift is ever undefined.
MAX_SHIFT = 62


def clog2(n: int) -> int:
    """Bits needed to count to ``n``: ceil(log2(n)), 0 for n <= 1."""
    return max(0, (int(n) - 1).bit_length())


def norm_int_bits(dim: int) -> int:
    """Integer bits (without sign) of the normalised value: |x - mean|/std <= sqrt(D - 1)."""
    return clog2(math.isqrt(max(dim - 1, 0)) + 1) + 1


@dataclass(frozen=True)
class IsqrtTable:
    """1/(D*sqrt(var + eps)) tabulated over buckets of ``w = var * D**3``.

    Bucket 0 holds ``w < 2**e_lo`` linearly (like IEEE subnormals), where eps dominates;
    bucket ``b >= 1`` holds ``2**(e_lo+b-1) <= w < 2**(e_lo+b)`` split into ``2**M`` mantissa
    steps; ``w >= 2**(e_hi+1)`` saturates to the last entry. Entries are integers: the
    value times ``2**frac_bits``.
    """

    dim: int
    epsilon: float
    mantissa_bits: int
    e_lo: int
    e_hi: int
    frac_bits: int
    values: np.ndarray

    @property
    def size(self) -> int:
        return int(self.values.size)

    @property
    def width(self) -> int:
        """Unsigned bits of the largest entry."""
        return max(1, int(self.values.max()).bit_length())


@lru_cache(maxsize=64)
def isqrt_table(dim: int, epsilon: float, mantissa_bits: int, max_variance: float) -> IsqrtTable:
    """Build the inverse-square-root table for ``dim`` features (deterministic, float64)."""
    if dim < 1 or epsilon <= 0 or mantissa_bits < 1 or max_variance <= 0:
        raise ValueError(f"invalid LayerNorm table parameters dim={dim} epsilon={epsilon} "
                         f"mantissa_bits={mantissa_bits} max_variance={max_variance}")
    d3 = float(dim) ** 3
    e_lo = math.floor(math.log2(epsilon * d3 / 64.0))  # below eps/64 the variance hardly matters
    e_hi = max(e_lo, math.ceil(math.log2(max_variance * d3)) - 1)
    m = 1 << mantissa_bits
    n_buckets = e_hi - e_lo + 2
    mant = np.arange(m, dtype=np.float64) + 0.5  # bucket midpoints
    w_mid = np.empty((n_buckets, m))
    w_mid[0] = mant * 2.0 ** (e_lo - mantissa_bits)
    for b in range(1, n_buckets):
        w_mid[b] = (m + mant) * 2.0 ** (e_lo + b - 1 - mantissa_bits)
    h = 1.0 / (dim * np.sqrt(w_mid / d3 + epsilon))
    frac_bits = mantissa_bits + 3 + max(0, math.ceil(-math.log2(float(h.min()))))
    values = np.floor(h * 2.0**frac_bits + 0.5).astype(np.int64).ravel()
    values.setflags(write=False)
    return IsqrtTable(dim, float(epsilon), mantissa_bits, e_lo, e_hi, frac_bits, values)


@dataclass(frozen=True)
class Datapath:
    """Static widths and shifts of one LayerNorm instance (Python ints or Keras tensors).

    ``in_frac`` is F, the input's fractional bits; ``x_width`` the signed bits of X.
    """

    in_frac: Any
    x_width: Any
    sum_width: Any
    d_width: Any
    var_shift: Any
    dv_width: Any
    v_width: Any
    w_shift: Any
    p_shift: Any
    norm_int_bits: int
    norm_frac_bits: int


def datapath(i_max: Any, f_max: Any, dim: int, table: IsqrtTable, norm_frac_bits: int,
             maximum: Callable[[Any, Any], Any] = max) -> Datapath:
    """Widths for an input with at most ``i_max`` integer and ``f_max`` fractional bits.

    Written once for Python ints (the HLS config, ``maximum=max``) and Keras integer tensors
    (``maximum=keras.ops.maximum``) so both sides derive the same numbers.
    """
    c = clog2(dim)
    x_width = maximum(i_max + f_max + 1, 1)
    d_width = x_width + c + 1
    var_shift = maximum(d_width - MAX_DEVIATION_BITS, 0)
    dv_width = d_width - var_shift
    return Datapath(
        in_frac=f_max,
        x_width=x_width,
        sum_width=x_width + c,
        d_width=d_width,
        var_shift=var_shift,
        dv_width=dv_width,
        v_width=2 * dv_width - 2 + c + 1,
        w_shift=2 * var_shift - 2 * f_max,
        p_shift=f_max + table.frac_bits - norm_frac_bits,
        norm_int_bits=norm_int_bits(dim),
        norm_frac_bits=norm_frac_bits,
    )
