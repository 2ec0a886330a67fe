"""The C-simulation check: does the generated C++ compute what the framework model computes?

Both sides see the same float32 inputs. For quantization-aware models (HGQ2) the answer
must be "bit for bit"; for float models the figures (max difference, argmax agreement)
tell the user how much fixed-point precision costs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .errors import UserError
from .frontends.base import InputSpec


@dataclass
class CsimResult:
    """The ``csim`` section of report.json."""

    n_samples: int
    bit_exact: bool
    max_abs_diff: float
    argmax_agreement: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def seeded_inputs(spec: InputSpec, n: int, seed: int) -> np.ndarray:
    """``n`` inputs drawn uniformly over the model's input range, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    return rng.uniform(spec.low, spec.high, size=(n, *spec.shape)).astype(np.float32)


def load_inputs(path: Path, spec: InputSpec) -> np.ndarray:
    """Load the user's ``--inputs`` .npy (no pickles) and check it matches the model's input."""
    try:
        x = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"{path}: inputs file not found") from None
    except (ValueError, OSError) as err:
        raise UserError(f"{path}: not a NumPy .npy array of numbers: {str(err).splitlines()[0]}") from None
    if x.dtype.kind not in "iuf":
        raise UserError(f"{path}: inputs must be numeric, got dtype {x.dtype}")
    if tuple(x.shape) == spec.shape:
        x = x[None]
    if tuple(x.shape[1:]) != spec.shape or len(x) == 0:
        raise UserError(f"{path}: inputs have shape {x.shape}; the model takes (N, {', '.join(map(str, spec.shape))})")
    return x.astype(np.float32)


def compare(reference: np.ndarray, hls: np.ndarray) -> CsimResult:
    """Compare framework outputs with C-sim outputs sample by sample."""
    ref = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    out = np.asarray(hls, dtype=np.float64).reshape(len(reference), -1)
    if ref.shape != out.shape:
        raise UserError(f"C-sim output shape {out.shape} differs from the framework's {ref.shape}")
    diff = np.abs(ref - out)
    argmax = float(np.mean(ref.argmax(axis=1) == out.argmax(axis=1))) if ref.shape[1] > 1 else None
    return CsimResult(
        n_samples=len(ref),
        bit_exact=bool(np.array_equal(ref, out)),
        max_abs_diff=float(diff.max()) if diff.size else 0.0,
        argmax_agreement=argmax,
    )
