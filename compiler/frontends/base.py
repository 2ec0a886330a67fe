"""What every frontend hands to the build: a loaded framework model behind one interface.

The build pipeline never branches on the framework. Each frontend wraps its model in a
:class:`LoadedModel` subclass that knows how to run the framework model (the reference
for the C-simulation check), how to ask hls4ml for a starting configuration, and which
hls4ml converter takes it. Everything after conversion reads only hls4ml's ModelGraph.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class InputSpec:
    """Shape (without batch) and the value range seeded test inputs are drawn from.

    ``low``/``high`` come from the model's own input quantizer when it has one, so the
    C-sim check exercises the whole representable range, saturation included.
    """

    shape: tuple[int, ...]
    low: float = -4.0
    high: float = 4.0


@dataclass
class LoadedModel(abc.ABC):
    """A framework model ready for hls4ml conversion and for running as the reference."""

    name: str
    source_format: str
    model: Any
    inputs: InputSpec
    expect_bit_exact: bool = False
    notes: list[str] = field(default_factory=list)

    @abc.abstractmethod
    def predict(self, x: np.ndarray) -> np.ndarray:
        """Run the framework model on a batch and return a float64 array (batch, ...)."""

    @abc.abstractmethod
    def config_from_model(self, backend: str, default_precision: str, reuse_factor: int) -> dict:
        """hls4ml's per-layer starting configuration for this model (granularity 'name')."""

    @abc.abstractmethod
    def convert(self, hls_config: dict, **convert_kwargs: Any):
        """Call the hls4ml converter for this framework and return the ModelGraph."""

    @property
    @abc.abstractmethod
    def n_params(self) -> int:
        """Number of parameters of the framework model, as the framework counts them."""
