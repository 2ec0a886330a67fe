"""fpgaml.surrogates: what a design will cost (LUT, FF, DSP, BRAM, latency, II) before synthesis.

    import fpgaml.surrogates as S
    S.predict(model, part="xcu250", reuse_factor=4, strategy="latency").as_dict()
    S.predict_many(dataframe_or_configs)            # batched, one row per design

An analytic model of hls4ml's generated hardware (analytic.py), calibrated on real results,
corrected by a small network over the layers (residual.py: a GNN over the data-flow graph,
gnn.py, or a transformer over layer tokens, transformer.py) inside the region the training data
cover, with split-conformal intervals and an out-of-distribution flag outside it.
Layout: features.py (one featurizer for ModelGraphs and dataset rows), hls_rules.py (hls4ml's
reuse-factor and constant rules), data.py (tensors), ood.py, model.py (weights I/O),
train.py (train/evaluate), predict.py (the API), weights/ (shipped weights; README.md).

``import fpgaml.surrogates`` imports numpy and pandas, not torch (that waits for the first
estimate). The API functions are bound here eagerly because the module ``predict.py`` and the
function ``predict`` share a name: a lazy lookup would find the module once it is imported.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .predict import Estimate, TargetEstimate, design_spec, predict, predict_many

_EXPORTS = {
    "train": "train", "evaluate": "train",
    "TARGETS": "analytic", "AnalyticModel": "analytic",
    "DesignSpec": "features", "LayerSpec": "features", "from_model_graph": "features", "from_row": "features",
    "from_widths": "features", "to_data": "features", "tabulate": "features",
    "Surrogate": "model", "load_surrogate": "model",
}
__all__ = sorted([*_EXPORTS, "Estimate", "TargetEstimate", "design_spec", "predict", "predict_many"])


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'fpgaml.surrogates' has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
