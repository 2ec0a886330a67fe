"""One design, start to finish, inside a worker: model -> hls4ml config -> labels -> one record.

This is the only code of ``dataset generate`` that imports TensorFlow, hls4ml, da4ml or
runs Yosys, and it runs in worker processes (local pool or Ray), never in the parent: a
worker can then be killed on a per-design timeout without touching the writer.

:func:`run_design` never raises: whatever goes wrong becomes ``{"ok": False, "error": ...}``,
so one broken design costs one line in failed.jsonl, not the run.
"""

from __future__ import annotations

import os
import shutil
import time
import traceback
from pathlib import Path
from typing import Any

from ..surrogates.features import RTL_STRATEGY, from_model_graph
from .space import DesignSpec, build_model

LABELS = ("open", "vivado")


def prepare_worker() -> None:
    """Import the heavy stack once per worker, so no design's time limit pays for it."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from ..compiler.extensions import register
    from ..compiler.frontends.tensorflow_runtime import import_keras_quietly

    import_keras_quietly()
    register()
    import da4ml  # noqa: F401
    import hls4ml  # noqa: F401


def run_design(spec_data: dict[str, Any], label: str, work_root: str, timeout_s: float) -> dict[str, Any]:
    """Build, convert and label one design; ``{"ok": True, "record": ...}`` or ``{"ok": False, "error": ...}``.

    ``timeout_s`` bounds Yosys itself (the parent also kills the whole worker at the
    deadline; this only makes Yosys stop first and clean up its own children).
    """
    t0 = time.perf_counter()
    work = Path(work_root) / spec_data.get("design_id", "design")
    try:
        prepare_worker()
        spec = DesignSpec.from_dict(spec_data)
        record = _label_design(spec, label, work, deadline=t0 + float(timeout_s))
        record["timing"]["total_s"] = round(time.perf_counter() - t0, 3)
        return {"ok": True, "record": record}
    except Exception as err:  # noqa: BLE001  (recorded in failed.jsonl, not hidden)
        # SystemExit (the parent's SIGTERM on a timeout) is not caught: the worker must stop.
        return {"ok": False, "error": _one_line(err), "traceback": traceback.format_exc(limit=6),
                "elapsed_s": round(time.perf_counter() - t0, 3)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def _label_design(spec: DesignSpec, label: str, work: Path, deadline: float) -> dict[str, Any]:
    from ..compiler.frontends.keras_model import wrap_keras_model

    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}; expected one of {', '.join(LABELS)}")
    timing: dict[str, float] = {}
    t = time.perf_counter()
    loaded = wrap_keras_model(build_model(spec))
    timing["model_s"] = round(time.perf_counter() - t, 3)
    if label == "open":
        return _open_record(spec, loaded, work, deadline, timing)
    return _vivado_record(spec, loaded, work, timing)


# --- hls4ml configuration ---------------------------------------------------------------


def _weight_layer_sizes(model: Any) -> dict[str, tuple[int, int]]:
    """(n_in, n_out) per weight layer, as hls4ml counts them for valid reuse factors."""
    sizes = {}
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None or len(kernel.shape) < 2:
            continue
        shape = [int(d) for d in kernel.shape]
        n_in = 1
        for d in shape[:-1]:
            n_in *= d  # Conv1D kernel (k, c_in, filters): n_in = k * c_in
        sizes[layer.name] = (n_in, shape[-1])
    return sizes


def layer_reuse_factors(model: Any, wanted: int, backend: str = "Vivado") -> dict[str, int]:
    """Per weight layer, the valid reuse factor closest to ``wanted`` (ties: the smaller).

    hls4ml accepts only certain reuse factors per layer (divisor-like values of n_in*n_out)
    and fpgaml refuses a silent substitution, so the sampled model-level value is snapped
    per layer, deterministically, as wa-hls4ml's generator effectively did.
    """
    from hls4ml.backends import get_backend

    be = get_backend(backend)
    out = {}
    for name, (n_in, n_out) in _weight_layer_sizes(model).items():
        valid = be.get_valid_reuse_factors(n_in, n_out) or [1]
        out[name] = min(valid, key=lambda rf: (abs(rf - wanted), rf))
    return out


def _build_options(spec: DesignSpec, strategy: str, reuse_factor: int, layer_rfs: dict[str, int]) -> Any:
    from ..compiler.options import BuildOptions

    layer_cfg = {name: {"ReuseFactor": rf} for name, rf in layer_rfs.items()}
    values: dict[str, Any] = dict(part=spec.part, precision=spec.precision, strategy=strategy,
                                  reuse_factor=reuse_factor, clock_period=spec.clock_period,
                                  hls_config={"LayerName": layer_cfg} if layer_cfg else {})
    values.update(spec.extra.get("build_options", {}))  # tests inject invalid settings here
    return BuildOptions.from_mapping(values, where=f"design {spec.design_id}")


def hls_sections(spec: DesignSpec, loaded: Any, work: Path, *, open_flow: bool) -> tuple[Any, dict, dict]:
    """hls4ml's ModelGraph and configuration, and the BuildOptions they came from.

    Open labels describe da4ml's fully parallel circuit, which is what hls4ml's
    ``distributed_arithmetic`` strategy builds with reuse factor 1: the record says so
    instead of claiming a reuse factor the labelled circuit never had (the sampled
    settings stay in the record's ``design`` section).
    """
    from ..compiler.build import convert_graph

    if open_flow:
        strategy, rf = RTL_STRATEGY, 1  # da4ml builds the fully parallel circuit whatever hls4ml's settings say
        layer_rfs = dict.fromkeys(_weight_layer_sizes(loaded.model), 1)
    else:
        strategy, rf = spec.strategy, spec.reuse_factor
        layer_rfs = layer_reuse_factors(loaded.model, spec.reuse_factor)
    opts = _build_options(spec, strategy, rf, layer_rfs)
    graph, config = convert_graph(loaded, opts, work / "hls")
    return graph, config, opts


def model_config(model: Any, graph: Any) -> list[dict[str, Any]]:
    """rule4ml/wa-hls4ml's flat layer list (see datasets/README.md) from the Keras model.

    ``reuse_factor`` is what hls4ml actually used for the layer (read from the graph).
    """
    used = {layer.name: layer.get_attr("reuse_factor") for layer in graph.get_layers()}
    layers = []
    for layer in model.layers:
        entry = _layer_entry(layer)
        if used.get(layer.name) is not None:
            entry["reuse_factor"] = int(used[layer.name])
        layers.append(entry)
    return layers


def _shape(shape: Any) -> Any:
    if isinstance(shape, (list, tuple)):
        return [_shape(s) for s in shape]
    return None if shape is None else int(shape)


def _size(shape: Any) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _tensor_shape(tensor: Any) -> Any:
    """[null, 16] for a symbolic tensor; the first one's for a list of them (Keras 3 InputLayer)."""
    if isinstance(tensor, (list, tuple)):
        tensor = tensor[0] if tensor else None
    shape = getattr(tensor, "shape", None)
    return None if shape is None else _shape(shape)


def _layer_entry(layer: Any) -> dict[str, Any]:
    node_inputs = []
    try:
        node_inputs = [t._keras_history[0].name for t in layer._inbound_nodes[0].input_tensors]
    except (AttributeError, IndexError):
        pass
    # Weights and biases only: HGQ2 layers also hold trainable bit-width variables, which
    # count_params() includes but no wa-hls4ml record (or the circuit) has.
    params = sum(_size(w.shape) for w in (getattr(layer, "kernel", None), getattr(layer, "bias", None)) if w is not None)
    entry: dict[str, Any] = {
        "class_name": type(layer).__name__,
        "name": layer.name,
        "input_shape": _tensor_shape(getattr(layer, "input", None)),
        "output_shape": _tensor_shape(layer.output),
        "inbound_layers": node_inputs,
        "parameters": params,
        "trainable_parameters": params,
        "dtype": "float32",
    }
    if entry["input_shape"] is None:
        entry["input_shape"] = entry["output_shape"]  # InputLayer, as rule4ml writes it
    config = layer.get_config()
    for key in ("units", "filters", "kernel_size", "strides", "padding", "use_bias", "pool_size"):
        if key in config:
            entry["neurons" if key == "units" else key] = config[key]
    activation = config.get("activation")
    if isinstance(activation, str) and activation != "linear":
        entry["activation"] = activation
    if "filters" in config and entry["input_shape"]:
        entry["channels"] = entry["input_shape"][-1]
    return entry


# --- labels -----------------------------------------------------------------------------


def _base_record(spec: DesignSpec, loaded: Any, graph: Any, config: dict, opts: Any, features: Any) -> dict[str, Any]:
    """The sections every record has; ``features`` is the surrogate featurizer's DesignSpec."""
    import hls4ml

    from .. import __version__

    return {
        "meta_data": {"uuid": spec.design_id, "model_name": spec.name, "artifacts_file": None},
        "model_config": model_config(loaded.model, graph),
        "hls_config": _jsonable(config),
        "target_part": opts.full_part,
        "hls4ml_version": hls4ml.__version__,
        "fpgaml_version": __version__,
        "subset": f"fpgaml_{spec.space}",
        "design": spec.as_dict(),
        "io_type": opts.io_type,
        "design_graph": _jsonable(features.to_dict()),
    }


def open_flow_features(spec: DesignSpec, loaded: Any, work: Path) -> Any:
    """The featurizer's view of an open-flow design.

    hls4ml 1.3.0's distributed_arithmetic pass compiles the weights into generated code and
    drops them from the ModelGraph, so the graph the record's hls_config comes from has no
    weights to count. The same model converted with the Latency strategy at RF 1 has the same
    layers, precisions and weights; it is featurized and described as the DA circuit it is.
    """
    from ..compiler.build import convert_graph

    opts = _build_options(spec, "latency", 1, dict.fromkeys(_weight_layer_sizes(loaded.model), 1))
    graph, _ = convert_graph(loaded, opts, work / "features")
    return from_model_graph(graph, name=spec.name).as_rtl_circuit(spec.pipeline_stages)


def _open_record(spec: DesignSpec, loaded: Any, work: Path, deadline: float, timing: dict) -> dict[str, Any]:
    """Labels from the open flow: da4ml Verilog, Yosys synth_xilinx counts, da4ml latency."""
    from ..compiler.rtl import emit_rtl, synthesize

    t = time.perf_counter()
    graph, config, opts = hls_sections(spec, loaded, work, open_flow=True)
    timing["convert_s"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    rtl = emit_rtl(loaded, work, pipeline_stages=spec.pipeline_stages, clock_period=spec.clock_period, part=spec.part)
    timing["emit_s"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    synth = synthesize(work, spec.part, timeout_s=max(1.0, deadline - time.perf_counter()))
    timing["synth_s"] = round(time.perf_counter() - t, 3)
    record = _base_record(spec, loaded, graph, config, opts, open_flow_features(spec, loaded, work))
    record.update(
        # Stored BRAM is in 36 Kb tiles for 'yosys' (schema.STORED_BRAM_PER_18K_BLOCK); synth counts 18 Kb blocks.
        resource_report={"lut": synth["lut"], "ff": synth["ff"], "dsp": synth["dsp"],
                         "bram": synth["bram"] / 2, "uram": 0},
        hls_resource_report={},
        latency_report={"cycles_min": rtl["latency_cycles"], "cycles_max": rtl["latency_cycles"],
                        "interval_min": rtl["ii"], "interval_max": rtl["ii"],
                        "target_clock": rtl["clock_period_ns"], "estimated_clock": None},
        label_source="yosys",
        tool_versions={"yosys": synth["version"], "da4ml": rtl["da4ml"]["version"]},
        open_synthesis={k: synth[k] for k in ("carry", "muxf", "family", "synth_s")},
        rtl={"pipeline_stages": rtl["pipeline_stages"], "latency_cycles": rtl["latency_cycles"],
             "latency_cutoff": rtl["latency_cutoff"], "da4ml": rtl["da4ml"]},
        timing=timing,
    )
    return record


def _vivado_record(spec: DesignSpec, loaded: Any, work: Path, timing: dict) -> dict[str, Any]:
    """Labels from Vivado/Vitis HLS C-synthesis ('vivado-hls'): needs the tool on PATH."""
    from ..compiler.synthesis import run_synthesis

    t = time.perf_counter()
    graph, config, opts = hls_sections(spec, loaded, work, open_flow=False)
    timing["convert_s"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    graph.write()
    synth = run_synthesis(graph, work / "hls", opts.backend)
    timing["synth_s"] = round(time.perf_counter() - t, 3)
    report = {k: synth.get(k) for k in ("lut", "ff", "dsp", "bram", "uram")}
    record = _base_record(spec, loaded, graph, config, opts, from_model_graph(graph, name=spec.name))
    record.update(
        resource_report=report,  # 'vivado-hls' stores BRAM in 18 Kb blocks, as the HLS report does
        hls_resource_report=dict(report),
        latency_report={"cycles_min": synth.get("latency_cycles_min"), "cycles_max": synth.get("latency_cycles_max"),
                        "interval_min": synth.get("ii_min"), "interval_max": synth.get("ii_max"),
                        "target_clock": spec.clock_period, "estimated_clock": synth.get("clock_period_est")},
        label_source="vivado-hls",
        tool_versions={},  # fpgaml's report parser does not read the HLS tool's version (yet)
        timing=timing,
    )
    return record


def _jsonable(value: Any) -> Any:
    """hls4ml's config holds tuples, numpy numbers and None keys now and then; JSON needs plain types."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)
