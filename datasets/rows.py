"""One flat table row per record: the columns surrogates train on, and their types.

Every source (wa-hls4ml JSON, fpgaml JSON, the flattened wa-hls4ml CSVs) is mapped onto the
same columns, so a model can be trained on any mix of them. Numbers are float64 with NaN
for "not measured" (never 0: an empty report means the run failed, not that it used
nothing); text columns are pandas strings with <NA>.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd

from .schema import (
    LATENCY_KEYS,
    RESOURCE_KEYS,
    Record,
    activation_name,
    is_weight_layer,
    parse_precision,
)

#: Text columns, in table order.
TEXT_COLUMNS = (
    "source",  # file the row came from
    "subset",  # wa-hls4ml subset ('2layer', '3layer', 'conv2d', '2_20', ...) or the record's own
    "split",  # train / val / test / exemplar when the file name says so
    "record_id",  # meta_data.uuid (model_id in 2_20)
    "model_name",
    "artifacts_file",
    "label_source",  # tool behind lut/ff/dsp/bram/uram: vivado-synth | vivado-hls | yosys
    "part",
    "backend",  # hls4ml backend when the record names it (2_20: VivadoAccelerator)
    "tool_version",  # Vivado/Vitis (or yosys) version
    "hls4ml_version",
    "strategy",  # lower case: latency | resource | ...
    "io_type",  # io_parallel | io_stream when recorded
    "precision",  # hls_config.Model default precision, as written
    "layer_widths",  # '104-48-104-104': input width of each weight layer, then the last output
    "activations",  # distinct activation functions, sorted, '|'-joined ('relu|softmax')
    "design_graph",  # fpgaml records: the featurizer's DesignSpec of the built ModelGraph, as JSON
)

#: Numeric columns (float64), in table order.
NUMERIC_COLUMNS = (
    "reuse_factor",  # hls_config.Model.ReuseFactor (requested; layers may differ)
    "precision_bits",  # of the default precision
    "precision_int_bits",
    "weight_bits",  # widest weight precision of any layer (the 'prec' of wa-hls4ml's CSVs)
    "n_layers",  # layers with weights (Dense/Conv/...): wa-hls4ml's '3layer' has 3
    "n_params",  # sum of model_config[].parameters
    "d_in",  # last dimension of the first weight layer's input (features or channels)
    "d_out",  # last dimension of the last weight layer's output
    "rtl_pipeline_stages",  # open-flow records: da4ml register stages (latency = stages + 1 cycles)
    *RESOURCE_KEYS,  # lut ff dsp bram uram: by label_source; BRAM in 18 Kb blocks
    *(f"hls_{k}" for k in RESOURCE_KEYS),  # HLS C-synthesis estimate; BRAM in 18 Kb blocks
    *LATENCY_KEYS,  # HLS C-synthesis latency (cycles) and clocks (ns)
)

COLUMNS = TEXT_COLUMNS + NUMERIC_COLUMNS


def empty_row() -> dict[str, Any]:
    return {c: None for c in TEXT_COLUMNS} | {c: np.nan for c in NUMERIC_COLUMNS}


def record_row(record: Record, source: str, subset: str, split: str | None) -> dict[str, Any]:
    """The table row of a normalized record (see schema.normalize_record)."""
    row = empty_row()
    meta = record["meta_data"]
    hls = record["hls_config"]
    model = hls.get("Model") if isinstance(hls.get("Model"), dict) else {}
    layers = record["model_config"]
    weight_layers = [layer for layer in layers if is_weight_layer(layer.get("class_name"))]

    default_precision = _default_precision(model.get("Precision"))
    parsed = parse_precision(default_precision)
    row.update(
        source=source,
        subset=record.get("subset") or subset,
        split=split,
        record_id=meta.get("uuid"),
        model_name=meta.get("model_name"),
        artifacts_file=meta.get("artifacts_file"),
        label_source=record["label_source"],
        part=record.get("target_part"),
        backend=record.get("backend"),
        tool_version=_tool_version(record),
        hls4ml_version=record.get("hls4ml_version"),
        strategy=_lower(model.get("Strategy")),
        io_type=_lower(hls.get("IOType", hls.get("io_type", record.get("io_type")))),
        precision=default_precision,
        reuse_factor=_float(model.get("ReuseFactor")),
        precision_bits=np.nan if parsed is None else float(parsed.total_bits),
        precision_int_bits=np.nan if parsed is None else float(parsed.integer_bits),
        weight_bits=_weight_bits(hls, meta.get("model_name")),
        n_layers=float(len(weight_layers)) if layers else np.nan,
        n_params=_n_params(layers),
        activations=_activations(layers),
        design_graph=json.dumps(record["design_graph"]) if "design_graph" in record else None,
        rtl_pipeline_stages=_float((record.get("rtl") or {}).get("pipeline_stages")),
    )
    if weight_layers:
        widths = [_last_dim(layer.get("input_shape")) for layer in weight_layers]
        widths.append(_last_dim(weight_layers[-1].get("output_shape")))
        row["d_in"] = _float(widths[0])
        row["d_out"] = _float(widths[-1])
        if all(w is not None for w in widths):
            row["layer_widths"] = "-".join(str(int(w)) for w in widths)
    for key in RESOURCE_KEYS:
        row[key] = _nan(record["resource_report"][key])
        row[f"hls_{key}"] = _nan(record["hls_resource_report"][key])
    for key in LATENCY_KEYS:
        row[key] = _nan(record["latency_report"][key])
    return row


# --- the flattened wa-hls4ml CSVs (jdweitz/wa-hls4ml data/, the files in ../shared/data) ---

#: Columns every flattened wa-hls4ml CSV has.
CSV_REQUIRED = (
    "model_name", "d_in", "d_out", "prec", "model_file", "model_string", "rf", "strategy",
    "TargetClockPeriod_hls", "EstimatedClockPeriod_hls", "BestLatency_hls", "WorstLatency_hls",
    "BRAM_18K_hls", "DSP_hls", "FF_hls", "LUT_hls", "URAM_hls",
)
# The later converter also wrote hls_resource_report as *_hls_est (and its bram is 18 Kb blocks).
_CSV_HLS_EST = {"LUT_hls_est": "hls_lut", "FF_hls_est": "hls_ff", "DSP_hls_est": "hls_dsp",
                "BRAM_hls_est": "hls_bram", "URAM_hls_est": "hls_uram"}


def csv_frame(chunk: pd.DataFrame, source: str, subset: str, split: str | None) -> pd.DataFrame:
    """Map a chunk of a flattened wa-hls4ml CSV onto COLUMNS.

    Despite their ``_hls`` suffix, ``LUT_hls, FF_hls, DSP_hls, BRAM_18K_hls, URAM_hls`` were
    copied from each record's ``resource_report`` -- Vivado post-synthesis utilization --
    by the converter that wrote these files (jdweitz/wa-hls4ml,
    data/wa_hls4ml_multiple_json_to_one_csv.py), and BRAM_18K_hls holds Vivado's 36 Kb
    tile count (values like 2.5). So they become lut/ff/dsp/bram/uram with label_source
    'vivado-synth', BRAM doubled to 18 Kb blocks. The latency columns are the HLS
    estimates of ``latency_report``. ``IntervalMin_hls``/``IntervalMax_hls`` are NOT the
    initiation interval: that converter wrote cycles_min/cycles_max into them, so
    interval_min/interval_max stay NaN.
    """
    n = len(chunk)
    out = pd.DataFrame({c: [None] * n for c in TEXT_COLUMNS} | {c: np.full(n, np.nan) for c in NUMERIC_COLUMNS})
    num = {c: pd.to_numeric(chunk[c], errors="coerce").to_numpy(dtype=float)
           for c in CSV_REQUIRED if c not in ("model_name", "model_file", "model_string", "strategy")}
    widths = chunk["model_string"].astype("string")
    parts = widths.str.split("-")
    out["source"] = source
    out["subset"] = subset
    out["split"] = split
    out["record_id"] = chunk["model_file"].astype("string").str.replace(r"\.tar\.gz$", "", regex=True).to_numpy()
    out["model_name"] = chunk["model_name"].astype("string").str.rsplit("/", n=1).str[-1].to_numpy()
    out["artifacts_file"] = chunk["model_file"].astype("string").to_numpy()
    out["label_source"] = "vivado-synth"
    out["part"] = "xcu250-figd2104-2L-e"  # every wa-hls4ml CSV row: Alveo U250 (shared/README.md)
    out["strategy"] = chunk["strategy"].astype("string").str.lower().to_numpy()
    # The run folder in model_name names the tool: .../2layer_run_vsynth_2023-2/... -> 2023.2
    version = chunk["model_name"].astype("string").str.extract(r"_vsynth_(\d{4})-(\d)")
    out["tool_version"] = (version[0] + "." + version[1]).to_numpy()
    # wa-hls4ml's dataset card: io_parallel for every dense model, io_stream for every conv model.
    out["io_type"] = {"2layer": "io_parallel", "3layer": "io_parallel", "conv1d": "io_stream",
                      "conv2d": "io_stream"}.get(subset)
    out["layer_widths"] = widths.to_numpy()
    out["reuse_factor"] = num["rf"]
    out["weight_bits"] = pd.to_numeric(chunk["prec"], errors="coerce").to_numpy(dtype=float)
    out["n_layers"] = (parts.str.len() - 1).astype("float").to_numpy()
    out["d_in"] = num["d_in"]
    out["d_out"] = num["d_out"]
    if subset in ("2layer", "3layer"):
        # Dense with bias throughout (wa-hls4ml-search gen_dense_models_v2.py), so exact.
        out["n_params"] = [_dense_params(p) for p in parts]
    out["lut"] = num["LUT_hls"]
    out["ff"] = num["FF_hls"]
    out["dsp"] = num["DSP_hls"]
    out["bram"] = num["BRAM_18K_hls"] * 2.0
    out["uram"] = num["URAM_hls"]
    for column, target in _CSV_HLS_EST.items():
        if column in chunk:
            out[target] = pd.to_numeric(chunk[column], errors="coerce").to_numpy(dtype=float)
    out["cycles_min"] = num["BestLatency_hls"]
    out["cycles_max"] = num["WorstLatency_hls"]
    out["target_clock"] = num["TargetClockPeriod_hls"]
    out["estimated_clock"] = num["EstimatedClockPeriod_hls"]
    return out


def _dense_params(parts: Any) -> float:
    try:
        w = [int(p) for p in parts]
    except (TypeError, ValueError):
        return np.nan
    return float(sum((a + 1) * b for a, b in zip(w, w[1:])))


# --- helpers ---

def _default_precision(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("default", value.get("result"))
    return value if isinstance(value, str) else None


def _weight_bits(hls: dict, model_name: str | None) -> float:
    """Widest explicit weight precision in LayerName; else the '_<N>b' suffix of
    wa-hls4ml's dense model names (gen_dense_models_v2 names them dense_<widths>_<N>b);
    else NaN. 'auto' weights are left to hls4ml's inference, so they say nothing here."""
    bits: list[int] = []
    layer_cfg = hls.get("LayerName")
    if isinstance(layer_cfg, dict):
        for cfg in layer_cfg.values():
            precision = cfg.get("Precision") if isinstance(cfg, dict) else None
            if isinstance(precision, dict):
                parsed = parse_precision(precision.get("weight"))
                if parsed is not None:
                    bits.append(parsed.total_bits)
    if bits:
        return float(max(bits))
    if model_name:
        m = re.search(r"_(\d+)b$", model_name)
        if m:
            return float(m.group(1))
    return np.nan


def _tool_version(record: Record) -> str | None:
    if record.get("vivado_version"):
        return record["vivado_version"]
    versions = record.get("tool_versions") or {}
    tools = {"vivado-synth": ("vivado",), "vivado-hls": ("vitis_hls", "vivado_hls", "vivado"),
             "yosys": ("yosys",)}[record["label_source"]]
    for tool in tools:
        if versions.get(tool):
            return str(versions[tool])
    return None


def _n_params(layers: list) -> float:
    counts = [layer["parameters"] for layer in layers if layer.get("parameters") is not None]
    return float(sum(counts)) if counts else np.nan


def _activations(layers: list) -> str | None:
    names = {activation_name(layer.get("activation")) for layer in layers}
    names.discard(None)
    return "|".join(sorted(names)) if names else None  # type: ignore[arg-type]


def _last_dim(shape: Any) -> Any:
    """[null, 16] -> 16; Keras 2 InputLayer's [[null, 16]] -> 16; anything else -> None."""
    while isinstance(shape, (list, tuple)) and len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = shape[0]
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[-1], (int, float)):
        return shape[-1]
    return None


def _lower(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def _float(value: Any) -> float:
    try:
        return float(value) if value is not None and not isinstance(value, bool) else np.nan
    except (TypeError, ValueError):
        return np.nan


def _nan(value: float | None) -> float:
    return np.nan if value is None else float(value)
