"""`fpgaml build`: model -> hls4ml project -> g++ C-simulation check -> report.

Stages run in one direction: options are validated, the model is loaded, converted to an
hls4ml ModelGraph, written and compiled in a staging directory, checked against the
framework model, and only then moved to the output directory. A failure at any stage
leaves the user's output directory as it was (absent, or untouched).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .csim import CsimResult, compare, load_inputs, seeded_inputs
from .errors import CheckFailed, UserError
from .frontends import LoadedModel, load_model
from .hls_config import check_identifiers, check_reuse_factors, make_hls_config, pin_softmax_inputs
from .options import BuildOptions, load_config_file
from .report import model_layers, write_reports

PROJECT_NAME = "myproject"  # hls4ml's conventional top-level name; never taken from the model file

StageCallback = Callable[[str], None]


@dataclass
class BuildResult:
    """What a build produced: the project directory, its report and the live hls4ml model."""

    output_dir: Path
    report: dict
    hls_model: Any
    loaded: LoadedModel

    @property
    def csim(self) -> dict | None:
        return self.report.get("csim")

    @property
    def bit_exact(self) -> bool | None:
        return None if self.csim is None else self.csim["bit_exact"]


def _check_output_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: output path exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UserError(f"{out}: output directory exists and is not empty; use --force to replace it")


@contextlib.contextmanager
def _staging(out: Path, force: bool) -> Iterator[Path]:
    """A fresh sibling directory that becomes ``out`` only when everything succeeded."""
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.fpgaml-partial-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    _check_output_dir(out, force)  # re-checked: the directory may have appeared meanwhile
    if out.exists():
        shutil.rmtree(out)
    stage.rename(out)
    _repoint_hls4ml_config(out, stage)


def _repoint_hls4ml_config(out: Path, stage: Path) -> None:
    """hls4ml records its output directory as an absolute path in hls4ml_config.yml."""
    cfg = out / "hls4ml_config.yml"
    if cfg.exists():
        cfg.write_text(cfg.read_text().replace(str(stage.resolve()), str(out.resolve())))


class _Chatter:
    """Captures what hls4ml prints during each step; it goes to build.log, not the terminal."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def run(self, fn: Callable[[], Any]) -> Any:
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                return fn()
        finally:
            self.parts.append(buf.getvalue())

    def text(self) -> str:
        return "".join(self.parts)


def _hls4ml_step(loaded: LoadedModel, opts: BuildOptions, quiet: _Chatter, step: Callable[[], Any]) -> Any:
    """Run one hls4ml call (configuration or conversion) on the user's model.

    hls4ml reports models it cannot take (an unsupported axis, a layout it cannot split,
    io_stream with heterogeneous quantization) by raising whatever exception is at hand,
    so every failure here becomes one line naming the model and the options.
    """
    try:
        return quiet.run(step)
    except UserError:
        raise
    except Exception as err:
        if os.environ.get("FPGAML_DEBUG"):
            raise
        reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise UserError(
            f"hls4ml cannot convert '{loaded.name}' with io={opts.io}, strategy={opts.strategy}: "
            f"{type(err).__name__}: {reason} (FPGAML_DEBUG=1 shows where)"
        ) from None


def convert_graph(
    loaded: LoadedModel, opts: BuildOptions, output_dir: Path, quiet: _Chatter | None = None
) -> tuple[Any, dict]:
    """The hls4ml ModelGraph for ``loaded`` under ``opts``, checked, nothing written yet.

    Shared by the build and by everything else that reads the IR without building
    (estimates, the RTL flow). Re-converts once if a known hls4ml trap had to be avoided.
    """
    quiet = quiet or _Chatter()
    config = _hls4ml_step(loaded, opts, quiet, lambda: make_hls_config(loaded, opts))
    kwargs = dict(
        output_dir=str(output_dir),
        project_name=PROJECT_NAME,
        backend=opts.hls4ml_backend,
        part=opts.full_part,
        io_type=opts.io_type,
        clock_period=opts.clock_period,
    )
    graph = _hls4ml_step(loaded, opts, quiet, lambda: loaded.convert(config, **kwargs))
    if pin_softmax_inputs(graph, config, opts.precision):
        graph = _hls4ml_step(loaded, opts, quiet, lambda: loaded.convert(config, **kwargs))
    check_identifiers(graph)
    check_reuse_factors(graph, config)
    return graph, config


def _run_csim(loaded: LoadedModel, graph: Any, opts: BuildOptions, inputs: Path | None) -> CsimResult:
    x = load_inputs(inputs, loaded.inputs) if inputs is not None else seeded_inputs(loaded.inputs, opts.n_samples,
                                                                                   opts.seed)
    result = compare(loaded.predict(x), graph.predict(x))
    if loaded.expect_bit_exact and not result.bit_exact:
        raise CheckFailed(
            f"C-simulation is not bit-exact for {loaded.source_format} model '{loaded.name}' "
            f"(max |diff| {result.max_abs_diff:.6g} over {result.n_samples} samples); the generated design is wrong"
        )
    return result


def build(
    model: Any,
    output_dir: str | Path,
    *,
    force: bool = False,
    inputs: str | Path | None = None,
    input_shape: tuple[int, ...] | None = None,
    weights: str | Path | None = None,
    config_file: str | Path | None = None,
    on_stage: StageCallback | None = None,
    **options: Any,
) -> BuildResult:
    """Build an hls4ml project for ``model`` in ``output_dir`` and check it by C-simulation.

    ``model`` is a model object (Keras/HGQ2, PyTorch, ONNX) or a path (``.keras``, ``.h5``,
    ``.onnx``, ``file.py:factory``). ``options`` are :class:`BuildOptions` fields; values
    from ``config_file`` (YAML) come first and explicit options override them.
    """
    from .. import __version__

    say = on_stage or (lambda _msg: None)
    merged = load_config_file(Path(config_file)) if config_file is not None else {}
    merged.update({k: v for k, v in options.items() if v is not None})
    opts = BuildOptions.from_mapping(merged)
    out = Path(output_dir)
    _check_output_dir(out, force)
    if opts.synth:
        from .synthesis import require_hls_tool

        require_hls_tool(opts.backend)

    say("loading model")
    loaded = load_model(model, input_shape, Path(weights) if weights is not None else None)
    timing: dict[str, float] = {}
    import hls4ml

    quiet = _Chatter()
    with _staging(out, force) as stage:
        say("converting with hls4ml")
        with _timed(timing, "convert_s"):
            graph, _config = convert_graph(loaded, opts, stage, quiet)
        report: dict[str, Any] = {
            "fpgaml_version": __version__,
            "hls4ml_version": hls4ml.__version__,
            "flow": opts.flow,
            "model": {
                "name": loaded.name,
                "source_format": loaded.source_format,
                "n_params": loaded.n_params,
                "layers": model_layers(graph),
            },
            "config": opts.summary(),
            "csim": None,
            "timing": timing,
        }
        say("estimating cost with the surrogate")
        with _timed(timing, "estimate_s"):
            report["estimate"] = _estimate(graph, opts)
        if opts.flow == "rtl":
            _rtl_stages(loaded, opts, stage, report, say)
        else:
            _hls_stages(loaded, graph, opts, stage, report, say, quiet, Path(inputs) if inputs is not None else None)
        (stage / "build.log").write_text(quiet.text())
        write_reports(stage, report)
    say("done")
    return BuildResult(output_dir=out, report=report, hls_model=graph, loaded=loaded)


def _estimate(graph: Any, opts: BuildOptions) -> dict:
    """The surrogate's estimate for the converted graph (read from its own configuration), or
    for the RTL flow's pipelined circuit (the open-flow weights).

    Advisory: a graph the surrogate cannot read must not cost the user the build, so its
    failure is recorded in the section instead of raised.
    """
    from ..surrogates import predict

    if opts.flow == "rtl" and opts.pipeline_stages is None:
        return {"error": "no estimate for a combinational RTL circuit: the open-flow surrogate was trained on "
                         "pipelined ones (give --pipeline-stages)"}
    try:
        return predict(graph, pipeline_stages=opts.pipeline_stages if opts.flow == "rtl" else None).as_dict()
    except Exception as err:  # noqa: BLE001  (recorded, not hidden)
        return {"error": f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"}


@contextlib.contextmanager
def _timed(timing: dict[str, float], key: str) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    timing[key] = time.perf_counter() - t0


def _hls_stages(loaded: LoadedModel, graph: Any, opts: BuildOptions, stage: Path, report: dict,
                say: StageCallback, quiet: _Chatter, inputs: Path | None) -> None:
    """The hls4ml project: write it, C-simulate it against the framework, synthesize on request."""
    timing = report["timing"]
    say("writing the HLS project")
    with _timed(timing, "write_s"):
        quiet.run(graph.write)
    if opts.csim:
        say("compiling the C-simulation library (g++)")
        with _timed(timing, "compile_s"):
            quiet.run(graph.compile)
        say("running the C-simulation check")
        with _timed(timing, "csim_s"):
            report["csim"] = _run_csim(loaded, graph, opts, inputs).as_dict()
    if opts.synth:
        from .synthesis import run_synthesis

        say(f"running {opts.backend} HLS synthesis (this takes a while)")
        with _timed(timing, "synth_s"):
            report["synthesis"] = run_synthesis(graph, stage, opts.backend)


def _rtl_stages(loaded: LoadedModel, opts: BuildOptions, stage: Path, report: dict, say: StageCallback) -> None:
    """The open flow's first step: da4ml Verilog in OUT/rtl/ (checked later by `fpgaml sim`)."""
    from .rtl import emit_rtl

    say("emitting Verilog with da4ml")
    with _timed(report["timing"], "emit_s"):
        report["rtl"] = emit_rtl(loaded, stage, clock_period=opts.clock_period,
                                 pipeline_stages=opts.pipeline_stages, part=opts.full_part)
