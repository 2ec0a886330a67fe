"""``predict`` / ``predict_many``: cost estimates before synthesis.

A model is converted by hls4ml (no project written, nothing compiled: ~0.01-0.5 s) and
featurized once; the featurized design is cached, so a sweep over reuse factors re-times the
cached design with hls4ml's own reuse-factor rule (DesignSpec.with_reuse_factor) instead of
converting again -- conversion does not depend on the reuse factor except through that rule.
Everything after featurization is numpy plus one small network forward pass (~1-2 ms), and
batches of designs go through it together.
"""

from __future__ import annotations

import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..compiler.errors import UserError
from ..compiler.options import BuildOptions
from .analytic import TARGETS
from .features import (
    RTL_STRATEGY,
    DesignSpec,
    from_model_graph,
    from_row,
    from_widths,
    is_architecture,
    part_info,
    tabulate,
    tabulate_rows,
)
from .model import default_weights, load_surrogate

_CACHE_SIZE = 32
_conversions: OrderedDict[tuple, tuple[Any, DesignSpec]] = OrderedDict()


@dataclass(frozen=True)
class TargetEstimate:
    value: float
    low: float
    high: float
    calibrated: bool  # interval width measured on held-out data (False: a default width)

    def as_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "calibrated": self.calibrated}


@dataclass
class Estimate:
    """Per-target estimates (value and 90% interval), and whether the design lies outside the
    data the surrogate was trained on (then the value is the analytic model's and the
    interval is widened; ``reason`` says why)."""

    lut: TargetEstimate
    ff: TargetEstimate
    dsp: TargetEstimate
    bram: TargetEstimate
    latency_cycles: TargetEstimate
    ii: TargetEstimate
    ood: bool
    reason: str
    source: str  # 'analytic', or the network that corrected it: 'gnn' | 'transformer'
    analytic: dict[str, float]
    config: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, target: str) -> TargetEstimate:
        if target not in TARGETS:
            raise KeyError(target)
        return getattr(self, target)

    def utilization(self) -> dict[str, float]:
        """Estimated fraction of the part's LUT/FF/DSP/BRAM (empty for unknown parts)."""
        part = part_info(str(self.config.get("part", "")))
        if part is None:
            return {}
        totals = {"lut": part.lut, "ff": part.ff, "dsp": part.dsp, "bram": part.bram_18k}
        return {k: self[k].value / v for k, v in totals.items() if v}

    def to_text(self) -> str:
        """A plain-text table for terminals (what ``fpgaml predict`` prints without --json)."""
        util = self.utilization()
        head = f"{'':<15}{'estimate':>12}{'90% interval':>24}{'of part':>9}"
        lines = [f"{self.config.get('name') or 'design'}: {self.config.get('strategy')}, RF "
                 f"{self.config.get('reuse_factor')}, {self.config.get('io_type')}, {self.config.get('part')}, "
                 f"{self.config.get('clock_period')} ns", head]
        for t in TARGETS:
            e = self[t]
            share = f"{100 * util[t]:.1f}%" if t in util else ""
            interval = f"{e.low:,.0f} .. {e.high:,.0f}" + ("" if e.calibrated else "*")
            lines.append(f"{t:<15}{e.value:>12,.0f}{interval:>24}{share:>9}")
        lines.append(f"source: {self.source}" + ("" if not self.ood else f" (outside the training data: {self.reason})"))
        if any(not self[t].calibrated for t in TARGETS):
            lines.append("* interval width not measured on held-out data for this design/target")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "estimates": {t: self[t].as_dict() for t in TARGETS},
            "ood": self.ood,
            "ood_reason": self.reason,
            "source": self.source,
            "analytic": dict(self.analytic),
            "utilization": self.utilization(),
            "config": dict(self.config),
        }


# --- getting a DesignSpec for whatever the caller has ---

def _is_model_graph(obj: Any) -> bool:
    return hasattr(obj, "get_layers") and hasattr(obj, "config") and hasattr(obj, "output_vars")


def _options(**given: Any) -> BuildOptions:
    """BuildOptions from the caller's keywords (None: the build's default), validated as the build does."""
    io_type = given.pop("io_type", None)
    if io_type is not None:
        given["io"] = {"io_parallel": "parallel", "io_stream": "stream"}.get(str(io_type), str(io_type))
    return BuildOptions(**{k: v for k, v in given.items() if v is not None}, csim=False)


def convert(model: Any, opts: BuildOptions, input_shape: tuple[int, ...] | None = None) -> tuple[Any, str]:
    """hls4ml conversion exactly as ``fpgaml build`` does it (``convert_graph``: same config,
    same workarounds and checks), without writing or compiling anything; with the model's name
    (the graph itself only knows the HLS project name)."""
    from ..compiler.build import convert_graph
    from ..compiler.frontends import load_model

    loaded = load_model(model, input_shape)
    graph, _config = convert_graph(loaded, opts, Path(tempfile.gettempdir()) / "fpgaml-predict-not-written")
    return graph, loaded.name


def _model_key(model: Any) -> tuple:
    if isinstance(model, (str, Path)):
        path = Path(str(model).rsplit(":", 1)[0]) if str(model).count(":") == 1 else Path(model)
        mtime = path.stat().st_mtime_ns if path.exists() else 0
        return ("path", str(model), mtime)
    return ("object", id(model))


def _cached(key: tuple, model: Any) -> DesignSpec | None:
    hit = _conversions.get(key)
    if hit is None or (key[0] == "object" and hit[0] is not model):
        return None
    _conversions.move_to_end(key)
    return hit[1]


def _remember(key: tuple, model: Any, spec: DesignSpec) -> None:
    _conversions[key] = (model, spec)
    while len(_conversions) > _CACHE_SIZE:
        _conversions.popitem(last=False)


def design_spec(
    model_or_graph: Any,
    *,
    part: str | None = None,
    reuse_factor: int | None = None,
    precision: str | None = None,
    strategy: str | None = None,
    io_type: str | None = None,
    clock_period: float | None = None,
    backend: str | None = None,
    input_shape: tuple[int, ...] | None = None,
    pipeline_stages: int | None = None,
) -> DesignSpec:
    """The featurized design for a model, ModelGraph, DesignSpec or dense architecture string.

    Models are converted with the build's defaults for options left None. An existing
    ModelGraph or DesignSpec keeps its own settings; only reuse factor, part and clock can
    be changed without converting again (precision, strategy and io type change the graph).
    ``pipeline_stages`` asks for the open RTL flow's circuit (``fpgaml build --flow rtl``):
    da4ml's fully parallel design with that many register stages, so reuse factor and
    strategy do not apply.
    """
    if pipeline_stages is not None:
        if reuse_factor not in (None, 1) or strategy not in (None, "latency"):
            raise UserError("the open RTL flow builds the fully parallel circuit: reuse factor and strategy do not "
                            "apply with pipeline stages")
        spec = design_spec(model_or_graph, part=part, reuse_factor=None, precision=precision, strategy=strategy,
                           io_type=io_type, clock_period=clock_period, backend=backend, input_shape=input_shape)
        return spec.as_rtl_circuit(pipeline_stages)
    if isinstance(model_or_graph, DesignSpec) or _is_model_graph(model_or_graph):
        if _is_model_graph(model_or_graph):
            # Cached per graph object (and its layer list, in case a pass changed it since).
            key = ("object", id(model_or_graph), tuple(layer.name for layer in model_or_graph.get_layers()))
            spec = _cached(key, model_or_graph)
            if spec is None:
                spec = from_model_graph(model_or_graph)
                _remember(key, model_or_graph, spec)
        else:
            spec = model_or_graph
        fixed = {"precision": precision, "strategy": strategy, "io_type": io_type}
        changed = [k for k, v in fixed.items() if v is not None and not _same_setting(spec, k, v)]
        if changed:
            raise UserError(f"an existing ModelGraph fixes its {', '.join(changed)}; convert the model again "
                            "(pass the model itself) to change them")
        return _retime(spec, reuse_factor, part, clock_period)
    if is_architecture(model_or_graph) and not Path(str(model_or_graph)).exists():
        opts = _options(part=part, reuse_factor=reuse_factor, precision=precision, strategy=strategy, io_type=io_type,
                        clock_period=clock_period, backend=backend)
        from .hls_rules import parse_precision

        width = parse_precision(opts.precision)[0]
        return from_widths([int(w) for w in str(model_or_graph).split("-")], weight_bits=width, data_bits=width,
                           reuse_factor=opts.reuse_factor, strategy=opts.strategy, io_type=opts.io_type,
                           part=opts.full_part, clock_period=float(opts.clock_period), strict=True)
    opts = _options(part=part, reuse_factor=reuse_factor, precision=precision, strategy=strategy, io_type=io_type,
                    clock_period=clock_period, backend=backend)
    key = (_model_key(model_or_graph), opts.full_part, opts.backend, opts.precision, opts.strategy, opts.io,
           float(opts.clock_period), input_shape)
    spec = _cached(key, model_or_graph)
    if spec is None:
        graph, name = convert(model_or_graph, opts, input_shape)
        spec = from_model_graph(graph, name=name)
        _remember(key, model_or_graph, spec)
    return _retime(spec, opts.reuse_factor, None, None)


def _same_setting(spec: DesignSpec, key: str, value: str) -> bool:
    if key == "strategy":
        return str(value).lower() == spec.strategy
    if key == "io_type":
        return {"parallel": "io_parallel", "stream": "io_stream"}.get(str(value), str(value)) == spec.io_type
    return False  # precision: a graph's types are per layer; no single value to compare


def _retime(spec: DesignSpec, reuse_factor: int | None, part: str | None, clock: float | None) -> DesignSpec:
    if reuse_factor is not None and reuse_factor != spec.requested_reuse_factor:
        spec = spec.with_reuse_factor(int(reuse_factor), strict=True)
    if part is not None or clock is not None:
        opts = _options(part=part or spec.part, clock_period=clock)
        spec = replace(spec, part=opts.full_part, clock_period=float(clock if clock is not None else spec.clock_period))
    return spec


# --- estimates ---

def _estimate(pred: Any, g: int, spec: DesignSpec) -> Estimate:
    targets = {t: TargetEstimate(float(pred.value[g, j]), float(pred.low[g, j]), float(pred.high[g, j]),
                                 bool(pred.calibrated[j] and not pred.ood[g])) for j, t in enumerate(TARGETS)}
    strategy = f"{RTL_STRATEGY} (open RTL flow, {spec.pipeline_stages} stages)" if spec.pipeline_stages else spec.strategy
    config = {"name": spec.name, "part": spec.part, "strategy": strategy, "io_type": spec.io_type,
              "reuse_factor": spec.requested_reuse_factor, "clock_period": spec.clock_period,
              "pipeline_style": spec.pipeline_style, "pipeline_stages": spec.pipeline_stages,
              "layer_reuse_factors": {layer.name: layer.reuse_factor for layer in spec.compute_layers()}}
    return Estimate(**targets, ood=bool(pred.ood[g]), reason="; ".join(pred.reasons[g]),
                    source=str(pred.source[g]),
                    analytic={t: float(pred.analytic[g, j]) for j, t in enumerate(TARGETS)}, config=config)


def predict(
    model_or_graph: Any,
    *,
    part: str | None = None,
    reuse_factor: int | None = None,
    precision: str | None = None,
    strategy: str | None = None,
    io_type: str | None = None,
    clock_period: float | None = None,
    backend: str | None = None,
    input_shape: tuple[int, ...] | None = None,
    pipeline_stages: int | None = None,
    model_dir: str | Path | None = None,
) -> Estimate:
    """Estimate LUT, FF, DSP, BRAM (18 Kb blocks), latency (cycles, worst case) and II for one design.

    ``model_or_graph``: anything ``fpgaml build`` takes (Keras/HGQ2 object or file, ONNX,
    ``file.py:factory``), an hls4ml ModelGraph, a DesignSpec, or a dense architecture string
    such as ``'16-64-32-32-5'`` (every width at ``precision``). Options are the build's
    (None: the build's default; for a ModelGraph, its own). ``pipeline_stages``: estimate the
    open RTL flow's circuit instead (da4ml + Yosys; answered by the open-flow weights).
    ``model_dir``: other weights.
    """
    spec = design_spec(model_or_graph, part=part, reuse_factor=reuse_factor, precision=precision, strategy=strategy,
                       io_type=io_type, clock_period=clock_period, backend=backend, input_shape=input_shape,
                       pipeline_stages=pipeline_stages)
    surrogate = load_surrogate(model_dir, default_weights([spec.pipeline_stages]))
    pred = surrogate.predict_table(tabulate([spec]), [[layer.name for layer in spec.layers]])
    return _estimate(pred, 0, spec)


def predict_many(configs_or_dataframe: pd.DataFrame | Iterable[Any], *, model_dir: str | Path | None = None,
                 **options: Any) -> pd.DataFrame:
    """Estimates for many designs at once, one row each.

    Input: a DataFrame of dataset rows (``fpgaml.datasets.load`` columns or raw wa-hls4ml CSV
    columns: dense networks, or any network of fpgaml's own records), or an iterable of DesignSpecs, ModelGraphs, dataset-row dicts,
    or dicts ``{'model': ..., 'reuse_factor': ..., ...}`` (keywords of :func:`predict`;
    ``options`` are defaults for them). Output columns: ``<target>``, ``<target>_low``,
    ``<target>_high``, ``analytic_<target>`` per target, ``ood``, ``ood_reason``; rows that
    cannot be featurized get NaN and the reason. Index: the input's.
    """
    if isinstance(configs_or_dataframe, pd.DataFrame):
        index = configs_or_dataframe.index
        table, where, failed = tabulate_rows(configs_or_dataframe)
        n = len(configs_or_dataframe)
    else:
        items = list(configs_or_dataframe)
        index = pd.RangeIndex(len(items))
        n = len(items)
        specs: list[DesignSpec] = []
        kept: list[int] = []
        failed = {}
        for i, item in enumerate(items):
            try:
                specs.append(_spec_of(item, options))
                kept.append(i)
            except UserError as err:
                failed[i] = str(err)
        table, where = tabulate(specs), np.asarray(kept, dtype=np.int64)
    out = {f"{p}{t}{s}": np.full(n, np.nan) for t in TARGETS for p, s in (("", ""), ("", "_low"), ("", "_high"),
                                                                           ("analytic_", ""))}
    ood = np.ones(n, dtype=bool)
    reasons = [failed.get(i, "") for i in range(n)]
    if table.n_graphs:
        # All RTL circuits: the open-flow weights; otherwise the HLS ones (which flag RTL rows as OOD).
        surrogate = load_surrogate(model_dir, default_weights(table.glob["stages"]))
        pred = surrogate.predict_table(table)
        for j, t in enumerate(TARGETS):
            out[t][where] = pred.value[:, j]
            out[f"{t}_low"][where] = pred.low[:, j]
            out[f"{t}_high"][where] = pred.high[:, j]
            out[f"analytic_{t}"][where] = pred.analytic[:, j]
        ood[where] = pred.ood
        for k, i in enumerate(where):
            if pred.reasons[k]:
                reasons[i] = "; ".join(pred.reasons[k])
    frame = pd.DataFrame(out, index=index)
    frame["ood"] = ood
    frame["ood_reason"] = reasons
    return frame


def _spec_of(item: Any, defaults: Mapping[str, Any]) -> DesignSpec:
    if isinstance(item, Mapping):
        if "model" in item:
            kwargs = {**defaults, **{k: v for k, v in item.items() if k != "model"}}
            return design_spec(item["model"], **kwargs)
        return from_row(item)
    return design_spec(item, **defaults)
