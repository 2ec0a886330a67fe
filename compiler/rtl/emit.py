"""HGQ2 Keras model -> Verilog with da4ml (distributed arithmetic, no HLS tool involved).

da4ml 0.6.0 is called through its own API (``trace_model`` -> ``comb_trace`` ->
``VerilogModel``), not through hls4ml: hls4ml 1.3's distributed-arithmetic path requires
da4ml < 0.6. The HGQ2 quantizers fix every bit width, so the generated circuit computes
exactly what the Keras model computes; ``sim.py`` checks that bit for bit.

Layout written under OUT/rtl/ (da4ml's project plus fpgaml's two files)::

    src/<top>.v, src/<top>_stageN.v, src/<top>_wrapper.v, src/static/*.v, src/memfiles/
    fpgaml_rtl.json    what later steps read (top name, I/O formats, latency, estimates)
    reference.keras    the framework model, so `fpgaml sim OUT` needs nothing but OUT
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import time
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..frontends.base import LoadedModel
from ..parts import resolve_part
from .names import verilog_module_name

META_NAME = "fpgaml_rtl.json"
REFERENCE_NAME = "reference.keras"
DEFAULT_CLOCK_PERIOD = 5.0


def rtl_dir(out_dir: Path) -> Path:
    return Path(out_dir) / "rtl"


def read_rtl_meta(out_dir: Path) -> dict[str, Any]:
    """The metadata emit_rtl wrote; a clear error when OUT holds no RTL design."""
    path = rtl_dir(out_dir) / META_NAME
    if not path.is_file():
        raise UserError(f"{out_dir}: no RTL design found ({path.relative_to(out_dir)} is missing); "
                        "build it first with `fpgaml build --flow rtl`")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: corrupt RTL metadata ({err})") from None


def _keras_model(loaded: LoadedModel) -> Any:
    import keras

    if not isinstance(loaded.model, keras.Model):
        raise UserError(
            f"the RTL flow (da4ml) takes Keras/HGQ2 models; '{loaded.name}' is a {loaded.source_format} model"
        )
    return loaded.model


def _layer_named_by_class(model: Any, cls: type) -> str:
    """The first layer of class ``cls``, looking inside nested models too."""
    for layer in model.layers:
        if type(layer) is cls:
            return f"layer '{layer.name}'"
        if hasattr(layer, "layers"):
            found = _layer_named_by_class(layer, cls)
            if found != "a layer":
                return found
    return "a layer"


def _trace(model: Any) -> Any:
    """da4ml's combinational logic for the whole model; unsupported layers become one-line UserErrors."""
    from da4ml.converter import trace_model
    from da4ml.trace import comb_trace

    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet):
            inputs, outputs = trace_model(model, framework="keras")
            return comb_trace(inputs, outputs)
    except KeyError as err:
        # HGQ2's da4ml plugin looks each layer class up in its registry: KeyError(<class>).
        cls = err.args[0] if err.args else None
        if not isinstance(cls, type):
            raise
        raise UserError(
            f"{_layer_named_by_class(model, cls)} of class {cls.__name__} is not supported by da4ml; the RTL flow "
            "needs HGQ2 layers (QDense, QConv1D/2D, QEinsumDense, QBatchNormalization, pooling, ReLU...)"
        ) from None
    except (AssertionError, ValueError, TypeError, NotImplementedError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise UserError(f"da4ml cannot trace model '{model.name}': {type(err).__name__}: {first}") from None


def _cutoff_for_stages(comb: Any, stages: int) -> float:
    """The smallest da4ml latency cutoff that splits ``comb`` into at most ``stages`` stages.

    da4ml pipelines by a delay cutoff (in its own adder-delay units), while people ask for
    a number of register stages; ``to_pipeline`` is cheap, so search upwards from the even split.
    """
    from da4ml.trace import to_pipeline

    depth = float(comb.latency[1])
    if stages < 1:
        raise UserError(f"invalid number of pipeline stages {stages}; expected 1 or more")
    if depth <= 0:
        return 1.0
    cutoff = depth / stages * (1 + 1e-6)
    for _ in range(200):
        if len(to_pipeline(comb, cutoff, verbose=False).solutions) <= stages:
            return cutoff
        cutoff *= 1.05
    return depth + 1.0


def _io_format(qints: Any) -> dict[str, Any]:
    """How a vector of fixed-point values is laid on the wrapper's port.

    da4ml's ``<top>_wrapper`` gives every element the same slot: ``slot_bits`` wide with
    ``frac_bits`` fraction bits, element j in bits [slot*(j+1)-1 : slot*j]. Each element's own
    range (min, max, step) is kept too: the testbench draws inputs from exactly that grid.
    """
    from da4ml.types import minimal_kif

    kifs = [tuple(int(v) for v in minimal_kif(q)) for q in qints]
    k_max = max(k for k, _, _ in kifs)
    i_max = max(i for _, i, _ in kifs)
    f_max = max(f for _, _, f in kifs)
    slot = k_max + i_max + f_max
    return {
        "elements": len(kifs),
        "slot_bits": slot,
        "frac_bits": f_max,
        "signed": bool(k_max),
        "bus_bits": slot * len(kifs),
        "slot_type": f"ap_{'' if k_max else 'u'}fixed<{slot},{slot - f_max}>",
        "per_element": [
            {"k": k, "i": i, "f": f, "min": float(q.min), "max": float(q.max), "step": float(q.step)}
            for (k, i, f), q in zip(kifs, qints)
        ],
    }


def _source_files(src: Path, top: str) -> list[str]:
    """Verilog files in a compile order every tool accepts: library modules, stages, top, wrapper."""
    static = sorted(p.name for p in (src / "static").glob("*.v"))
    stages = sorted((p.name for p in src.glob(f"{top}_stage*.v")), key=lambda n: int(n[len(top) + 6 : -2] or 0))
    files = [f"src/static/{n}" for n in static] + [f"src/{n}" for n in stages] + [f"src/{top}.v"]
    return files + [f"src/{top}_wrapper.v"]


def emit_rtl(
    loaded: LoadedModel,
    out_dir: Path,
    *,
    latency_cutoff: float | None = None,
    clock_period: float | None = None,
    pipeline_stages: int | None = None,
    part: str = "xcvu13p",
) -> dict[str, Any]:
    """Write OUT/rtl/ for ``loaded`` and return the RTL metadata (also saved as rtl/fpgaml_rtl.json).

    ``latency_cutoff`` (da4ml's delay units) or ``pipeline_stages`` (a stage count, mapped to
    a cutoff) make a pipelined design with a clock; with neither, the design is purely
    combinational. ``clock_period`` (ns) and ``part`` only go into da4ml's constraint files
    and Vivado script; the open flow does no timing analysis.
    """
    import da4ml

    if latency_cutoff is not None and pipeline_stages is not None:
        raise UserError("give a latency cutoff or a number of pipeline stages, not both")
    if latency_cutoff is not None and latency_cutoff <= 0:
        raise UserError(f"invalid latency cutoff {latency_cutoff}; expected a positive number")
    full_part, _ = resolve_part(part)
    period = DEFAULT_CLOCK_PERIOD if clock_period is None else float(clock_period)
    model = _keras_model(loaded)
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    comb = _trace(model)
    trace_s = time.perf_counter() - t0

    if pipeline_stages is not None:
        latency_cutoff = _cutoff_for_stages(comb, int(pipeline_stages))
    top = verilog_module_name(loaded.name)
    dest = rtl_dir(out_dir)
    if dest.exists():
        shutil.rmtree(dest)  # a previous design's stage files would otherwise be picked up
    dest.mkdir(parents=True)

    from da4ml.codegen import VerilogModel

    t0 = time.perf_counter()
    hdl = VerilogModel(
        comb, top, dest, latency_cutoff=-1 if latency_cutoff is None else float(latency_cutoff),
        print_latency=True, part_name=full_part, clock_period=period,
    )
    with contextlib.redirect_stdout(io.StringIO()):
        hdl.write()
    da_meta = json.loads((dest / "metadata.json").read_text())  # da4ml's own record of what it wrote
    pipelined = "latency" in da_meta
    n_stages = int(da_meta.get("latency", 0))
    write_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    model.save(dest / REFERENCE_NAME)
    save_s = time.perf_counter() - t0

    meta: dict[str, Any] = {
        "top": top,
        "wrapper": f"{top}_wrapper",
        "model_name": loaded.name,
        "source_format": loaded.source_format,
        "input_shape": [int(d) for d in model.inputs[0].shape[1:]],
        "hdl": "verilog",
        "pipelined": pipelined,
        "pipeline_stages": n_stages,
        # Rising clock edges from presenting an input to reading its result: the design
        # registers its input, each stage boundary and its output (0: combinational).
        "latency_cycles": n_stages + 1 if pipelined else 0,
        "ii": 1,  # fully unrolled: a new input every clock cycle
        "latency_cutoff": float(da_meta["latency_cutoff"]) if pipelined else None,
        "clock_period_ns": period,
        "part": full_part,
        "inputs": _io_format(comb.inp_qint),
        "outputs": _io_format(comb.out_qint),
        "da4ml": {
            "version": da4ml.__version__,
            "lut_estimate": float(comb.cost),
            "ff_estimate": int(da_meta.get("reg_bits", 0)),
            "adder_depth": float(comb.latency[1]),
        },
        "files": _source_files(dest / "src", top),
        "reference_model": REFERENCE_NAME,
        "timing": {"trace_s": trace_s, "write_s": write_s, "save_reference_s": save_s},
    }
    (dest / META_NAME).write_text(json.dumps(meta, indent=2) + "\n")
    return meta
