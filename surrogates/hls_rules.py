"""hls4ml's own rules that decide what hardware a configuration becomes, restated in numpy.

The surrogate must see the design hls4ml actually generates, not the one the user asked
for: with the Resource strategy hls4ml silently replaces an invalid reuse factor by the
closest valid one per layer (the wa-hls4ml data were made that way: 2047 requested, 1792
built), and Vivado HLS removes multiplications by constant zero and maps narrow products to
LUTs. Keeping these rules here, exact and tested against hls4ml itself, lets a reuse-factor
sweep skip hls4ml's conversion entirely.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from functools import lru_cache

import numpy as np

from ..compiler.errors import UserError

MAX_WIDTH = 64  # histogram bins of effective weight widths (0..63); wider weights are clipped


@lru_cache(maxsize=4096)
def valid_reuse_factors(n_in: int, n_out: int) -> tuple[int, ...]:
    """The reuse factors hls4ml 1.3.0 accepts for an n_in x n_out kernel (FPGABackend
    ``get_valid_reuse_factors``). Only divisors of n_in*n_out can pass its last test, so
    enumerating divisors gives the same list in microseconds instead of an O(n_in*n_out) loop."""
    total = n_in * n_out
    divisors: set[int] = set()
    for d in range(1, math.isqrt(total) + 1):
        if total % d == 0:
            divisors.update((d, total // d))
    out = []
    for rf in sorted(divisors):
        multfactor = min(n_in, rf)
        multiplier_limit = math.ceil(total / multfactor)
        ok = (multiplier_limit % n_out == 0) or (rf >= n_in)
        ok = ok and ((rf % n_in == 0) or (rf < n_in))
        if ok:
            out.append(rf)
    return tuple(out)


@lru_cache(maxsize=65536)
def closest_reuse_factor(n_in: int, n_out: int, wanted: int) -> int:
    """hls4ml's ``get_closest_reuse_factor``: the nearest valid value, the smaller on a tie."""
    valid = valid_reuse_factors(n_in, n_out)
    pos = bisect_left(valid, wanted)
    if pos == 0:
        return valid[0]
    if pos == len(valid):
        return valid[-1]
    before, after = valid[pos - 1], valid[pos]
    return after if after - wanted < wanted - before else before


def effective_reuse_factor(n_in: int, n_out: int, wanted: int, strategy: str, *, strict: bool, layer: str = "") -> int:
    """The reuse factor hls4ml builds for one kernel.

    Resource strategy: the closest valid value. ``strict`` (what ``fpgaml build`` does, see
    compiler/hls_config.check_reuse_factors) refuses a value hls4ml would change instead.
    Latency strategy: hls4ml keeps the value as requested.
    """
    if strategy != "resource" or n_in < 1 or n_out < 1:
        return max(1, int(wanted))
    got = closest_reuse_factor(int(n_in), int(n_out), int(wanted))
    if strict and got != wanted:
        shown = ", ".join(map(str, valid_reuse_factors(int(n_in), int(n_out))))
        raise UserError(f"reuse factor {wanted} is not valid for layer '{layer}' ({n_in}x{n_out}); "
                        f"valid values: {shown}")
    return got


_PRECISION = re.compile(r"^\s*(?:ap_)?(u?)(fixed|int)\s*<\s*(\d+)\s*(?:,\s*(-?\d+))?[^>]*>\s*$")


def parse_precision(text: str) -> tuple[int, int, bool, bool]:
    """'ap_fixed<16,6,AP_RND>' -> (width, integer bits, signed, rounds). Unparseable -> ValueError."""
    m = _PRECISION.match(text)
    if not m:
        raise ValueError(f"cannot read precision {text!r}")
    width = int(m.group(3))
    integer = int(m.group(4)) if m.group(4) is not None else width
    return width, integer, m.group(1) != "u", "RND" in text.upper()


def type_bits(precision: object) -> tuple[int, int, bool, bool]:
    """(width, integer, signed, rounds) of an hls4ml precision type object (FixedPrecisionType,
    IntegerPrecisionType, Xnor...). Types without a width count as 1 bit."""
    width = int(getattr(precision, "width", 1) or 1)
    integer = getattr(precision, "integer", width)
    signed = bool(getattr(precision, "signed", True))
    rounding = str(getattr(precision, "rounding_mode", "") or "")
    return width, int(integer if integer is not None else width), signed, "RND" in rounding.upper()


def quantize(values: np.ndarray, width: int, integer: int, signed: bool, rounds: bool) -> np.ndarray:
    """Weights as the integers the HLS constants hold (fraction bits = width - integer),
    wrapped to the type's range as ap_fixed's default WRAP overflow does."""
    frac = width - integer
    scaled = np.asarray(values, dtype=np.float64) * (2.0**frac)
    q = np.round(scaled) if rounds else np.floor(scaled + 1e-9)
    q = q.astype(np.int64)
    if width < 63:
        span = 1 << width
        q = np.mod(q, span)
        if signed:
            q = np.where(q >= span // 2, q - span, q)
    return q


def effective_width_histogram(q: np.ndarray, signed: bool) -> np.ndarray:
    """Counts of non-zero constants per effective width.

    After constant propagation Vivado HLS multiplies by a constant with only the bits its
    magnitude needs (floor(log2|q|) + 1, plus a sign bit), and a power of two is a shift
    (counted as width 1: no multiplier). Which of these products reach a DSP decides the DSP
    count of a Latency-strategy design at RF=1.
    """
    a = np.abs(q[q != 0]).astype(np.int64)
    hist = np.zeros(MAX_WIDTH, dtype=np.int64)
    if a.size == 0:
        return hist
    magnitude = np.floor(np.log2(a.astype(np.float64))).astype(np.int64) + 1 + int(signed)
    power_of_two = (a & (a - 1)) == 0
    width = np.clip(np.where(power_of_two, 1, magnitude), 1, MAX_WIDTH - 1)
    np.add.at(hist, width, 1)
    return hist


def wahls4ml_zero_fraction(bits: int, fan_in: int) -> float:
    """Expected fraction of zero weights in a wa-hls4ml generated dense layer.

    Its models were never trained: lecun_uniform initial weights (U(-L, L), L = sqrt(3/fan_in))
    quantized by QKeras quantized_bits(bits, 0, alpha=1), i.e. steps of 2^-(bits-1); a weight
    rounds to zero when |w| < 2^-bits. At 2 bits almost every weight is zero, which changes
    what Vivado can trim, so the row featurizer records it like a real model's zero count.
    """
    limit = math.sqrt(3.0 / max(fan_in, 1))
    return float(min(1.0, (2.0**-bits) / limit))
