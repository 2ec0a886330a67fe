"""The `fpgaml` command: a thin shell over the Python API.

Errors caused by the user's input print one line on stderr and exit with code 2; the
Python API raises them as :class:`fpgaml.UserError`. Set FPGAML_DEBUG=1 for tracebacks.
"""

from __future__ import annotations

import os

# Quiet TensorFlow's C++ start-up chatter before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from .cli_common import model_source
from .compiler.errors import UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="Quantized neural networks to Xilinx FPGAs.")
console = Console(stderr=True)


def _fail(message: str, code: int) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True, markup=True)
    sys.exit(code)


def _shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"invalid --input-shape '{text}'; expected comma-separated integers such as 16 or 8,24") from None


# Options shared by the commands that take a model and a configuration (build, predict, ...).
ExampleOpt = Annotated[Optional[str], typer.Option("--example", help="An example from `fpgaml examples`")]
PartOpt = Annotated[Optional[str], typer.Option("--part", help="Xilinx part or alias (xcvu13p, xcu250, xczu7ev, ...)")]
BackendOpt = Annotated[Optional[str], typer.Option("--backend", help="vivado | vitis")]
PrecisionOpt = Annotated[Optional[str], typer.Option("--precision", help="Default precision, e.g. 'ap_fixed<16,6>'")]
ReuseOpt = Annotated[Optional[int], typer.Option("--reuse-factor", help="Reuse factor for every layer")]
StrategyOpt = Annotated[Optional[str], typer.Option("--strategy", help="latency | resource | distributed_arithmetic")]
IoOpt = Annotated[Optional[str], typer.Option("--io", help="parallel | stream")]
ClockOpt = Annotated[Optional[float], typer.Option("--clock-period", help="Clock period in ns")]
InputShapeOpt = Annotated[Optional[str], typer.Option("--input-shape", help="PyTorch input shape without batch, e.g. 16 or 8,24")]


@app.command()
def build(
    model: Annotated[Optional[str], typer.Argument(help="Model: .keras, QKeras .h5, .onnx, or file.py:factory")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Output directory for the HLS project")] = ...,
    example: ExampleOpt = None,
    part: PartOpt = None,
    backend: BackendOpt = None,
    precision: PrecisionOpt = None,
    reuse_factor: ReuseOpt = None,
    strategy: StrategyOpt = None,
    io: IoOpt = None,
    clock_period: ClockOpt = None,
    config: Annotated[Optional[Path], typer.Option(help="YAML file of build options and an HLSConfig override")] = None,
    inputs: Annotated[Optional[Path], typer.Option(help="C-sim inputs (.npy, shape (N, *input_shape))")] = None,
    input_shape: InputShapeOpt = None,
    weights: Annotated[Optional[Path], typer.Option(help="PyTorch state_dict loaded into the factory's module")] = None,
    force: Annotated[bool, typer.Option(help="Replace a non-empty output directory")] = False,
    no_csim: Annotated[bool, typer.Option("--no-csim", help="Skip the C-simulation check")] = False,
    synth: Annotated[bool, typer.Option("--synth", help="Run Vivado/Vitis HLS synthesis (tool on PATH)")] = False,
    flow: Annotated[Optional[str], typer.Option(help="hls (hls4ml project) | rtl (da4ml Verilog, open flow)")] = None,
    pipeline_stages: Annotated[Optional[int], typer.Option(help="RTL flow: pipeline stages (default combinational)")] = None,
) -> None:
    """Convert a model to an hls4ml HLS project and check it bit for bit by C-simulation."""
    import fpgaml as api

    source = model_source(model, example)
    with console.status("starting") as status:
        result = api.build(
            source, output, force=force, inputs=inputs, input_shape=_shape(input_shape), weights=weights,
            config_file=config, on_stage=lambda msg: status.update(msg), part=part, backend=backend,
            precision=precision, reuse_factor=reuse_factor, strategy=strategy, io=io, clock_period=clock_period,
            csim=False if no_csim else None, synth=True if synth else None, flow=flow, pipeline_stages=pipeline_stages,
        )
    _print_summary(result.report, result.output_dir)


def _print_summary(report: dict, out: Path) -> None:
    out_console = Console()
    cfg, model = report["config"], report["model"]
    table = Table(title=f"{model['name']} ({model['source_format']}, {model['n_params']} params) -> {out}")
    table.add_column("item")
    table.add_column("value")
    for key in ("part", "backend", "strategy", "io_type", "precision", "reuse_factor", "clock_period"):
        table.add_row(key, str(cfg[key]))
    csim = report.get("csim")
    if csim:
        table.add_row("csim samples", str(csim["n_samples"]))
        table.add_row("bit_exact", str(csim["bit_exact"]).lower())
        table.add_row("max_abs_diff", f"{csim['max_abs_diff']:.6g}")
        table.add_row("argmax_agreement", "n/a" if csim["argmax_agreement"] is None else f"{csim['argmax_agreement']:.4f}")
    estimate = (report.get("estimate") or {}).get("estimates")
    if estimate:
        flag = " (outside training data)" if report["estimate"].get("ood") else ""
        table.add_row(f"estimate{flag}", ", ".join(f"{k} {v['value']:,.0f}" for k, v in estimate.items()))
    for section in ("rtl", "rtl_sim", "open_synthesis"):
        _add_section_rows(table, section, report.get(section))
    for key, value in report.get("synthesis", {}).items():
        if not isinstance(value, dict):
            table.add_row(f"synth {key}", str(value))
    table.add_row("time (s)", ", ".join(f"{k[:-2]} {v:.2f}" for k, v in report["timing"].items()))
    out_console.print(table)


def _add_section_rows(table: Table, section: str, data: dict | None) -> None:
    keys = {"rtl": ("top", "pipeline_stages", "latency_cycles", "ii"),
            "rtl_sim": ("n_vectors", "mismatches", "simulator", "simulator_version"),
            "open_synthesis": ("tool", "version", "lut", "ff", "carry", "dsp", "bram", "latency_cycles", "ii")}[section]
    for key in keys if data else ():
        table.add_row(f"{section} {key}", str(data.get(key)))


def _section_table(title: str, section: str, data: dict) -> None:
    table = Table(title=title)
    table.add_column("item")
    table.add_column("value")
    _add_section_rows(table, section, data)
    Console().print(table)


@app.command()
def sim(
    output: Annotated[Path, typer.Argument(help="Output directory of `fpgaml build --flow rtl`")],
    vectors: Annotated[int, typer.Option(help="Number of seeded test vectors")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the test vectors")] = 0,
    timeout: Annotated[float, typer.Option(help="Seconds before the simulation is abandoned")] = 900,
) -> None:
    """Simulate the RTL with Verilator through cocotb; every output bit is compared with the model."""
    from .compiler.errors import CheckFailed
    from .compiler.report import refresh_markdown
    from .compiler.rtl import simulate, update_report

    if vectors < 1:
        raise UserError(f"invalid --vectors {vectors}; it must be >= 1")
    with console.status("building and running the Verilator simulation"):
        result = simulate(output, None, vectors, seed, timeout_s=timeout)
    refresh_markdown(output, update_report(output, "rtl_sim", result))
    _section_table(f"RTL simulation of {output}", "rtl_sim", result)
    if result["mismatches"]:
        raise CheckFailed(f"{result['mismatches']} of {result['n_vectors']} vectors differ from the framework model "
                          f"(first ones in {output / 'rtl_sim' / 'result.json'})")


@app.command()
def synth(
    output: Annotated[Path, typer.Argument(help="Output directory of `fpgaml build --flow rtl`")],
    part: Annotated[Optional[str], typer.Option(help="Xilinx part (default: the build's)")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds before Yosys is abandoned")] = 3600,
) -> None:
    """Synthesize the RTL with Yosys synth_xilinx and record LUT/FF/CARRY/DSP/BRAM counts."""
    from .compiler.report import refresh_markdown
    from .compiler.rtl import read_rtl_meta, synthesize, update_report

    with console.status("running Yosys synth_xilinx"):
        result = synthesize(output, part or read_rtl_meta(output)["part"], timeout)
    refresh_markdown(output, update_report(output, "open_synthesis", result))
    _section_table(f"Open synthesis of {output}", "open_synthesis", result)


@app.command("examples")
def list_examples() -> None:
    """List the example models."""
    from .compiler.examples import examples

    for name, description in examples().items():
        Console().print(f"[bold]{name}[/]  {description}", highlight=False)


@app.command()
def predict(
    model: Annotated[Optional[str], typer.Argument(help="Model file, file.py:factory, or dense widths like 16-64-32-32-5")] = None,
    example: ExampleOpt = None,
    part: PartOpt = None,
    backend: BackendOpt = None,
    precision: PrecisionOpt = None,
    reuse_factor: ReuseOpt = None,
    strategy: StrategyOpt = None,
    io: IoOpt = None,
    clock_period: ClockOpt = None,
    input_shape: InputShapeOpt = None,
    pipeline_stages: Annotated[Optional[int], typer.Option(
        help="Estimate the open RTL flow's circuit (build --flow rtl) with this many pipeline stages")] = None,
    model_dir: Annotated[Optional[Path], typer.Option(help="Surrogate weights directory (default: shipped)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON")] = False,
) -> None:
    """Estimate LUT, FF, DSP, BRAM, latency and II before synthesis, with 90% intervals."""
    import json

    import fpgaml as api

    estimate = api.predict(
        model_source(model, example), part=part, backend=backend, precision=precision,
        reuse_factor=reuse_factor, strategy=strategy, io_type=io, clock_period=clock_period,
        input_shape=_shape(input_shape), pipeline_stages=pipeline_stages, model_dir=model_dir,
    )
    if json_out:
        print(json.dumps(estimate.as_dict(), indent=1))
    else:
        Console().print(estimate.to_text(), highlight=False, markup=False, soft_wrap=True)


from .explore_cli import explore_command  # noqa: E402  (its heavy imports happen inside the command)

app.command("explore")(explore_command)

surrogate_app = typer.Typer(no_args_is_help=True, help="Train and evaluate the cost surrogates.")
app.add_typer(surrogate_app, name="surrogate")


def _labelled(paths: list[str], label_source: str | None):
    """Load datasets and keep the rows labelled by ``label_source`` (all rows when None)."""
    from .datasets import load

    df = load(paths)
    if label_source is not None:
        df = df[df["label_source"] == label_source]
        if df.empty:
            raise UserError(f"no records with label source '{label_source}' in {', '.join(paths)}")
    return df


@surrogate_app.command("train")
def surrogate_train(
    data: Annotated[list[str], typer.Option("--data", help="Dataset files, directories or globs (repeatable)")],
    out: Annotated[Path, typer.Option("--out", help="Directory for weights and checkpoints")],
    arch: Annotated[str, typer.Option(help="gnn | transformer | analytic")] = "gnn",
    label_source: Annotated[Optional[str], typer.Option(help="vivado-synth | vivado-hls | yosys")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the split and the initialisation")] = 0,
    epochs: Annotated[int, typer.Option(help="Training epochs")] = 40,
) -> None:
    """Train a surrogate (resumes from OUT's checkpoint when re-run with the same command)."""
    from .surrogates.train import train

    train(_labelled(data, label_source), arch=arch, out_dir=out, seed=seed, epochs=epochs)


@surrogate_app.command("eval")
def surrogate_eval(
    data: Annotated[list[str], typer.Option("--data", help="Dataset files, directories or globs (repeatable)")],
    model_dir: Annotated[Optional[Path], typer.Option("--model", help="Surrogate directory (default: shipped)")] = None,
    label_source: Annotated[Optional[str], typer.Option(help="vivado-synth | vivado-hls | yosys")] = None,
    split: Annotated[str, typer.Option(help="test | val | train | all")] = "test",
    plot: Annotated[Optional[Path], typer.Option(help="Write parity plots to this PNG")] = None,
) -> None:
    """Per-target SMAPE, R2 and relative-error percentiles on a dataset split."""
    from .surrogates.train import evaluate

    table = evaluate(_labelled(data, label_source), model_dir, split=split, plot=plot)
    Console().print(table.to_string(float_format=lambda v: f"{v:.3f}"), highlight=False, markup=False)


dataset_app = typer.Typer(no_args_is_help=True, help="Synthesis-result datasets: wa-hls4ml JSON/CSV and fpgaml records.")
app.add_typer(dataset_app, name="dataset")


@dataset_app.command("info")
def dataset_info(
    paths: Annotated[list[str], typer.Argument(help="JSON/JSONL/CSV files (.gz ok), directories or globs")],
) -> None:
    """Count records per subset, label source, strategy, precision, part; print value ranges."""
    import warnings

    from .datasets import DatasetWarning, info, load  # imports pandas, so only inside the command

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)  # info() prints the malformed count itself
        df = load(paths)
    Console().print(info(df), highlight=False, markup=False, soft_wrap=True)


@dataset_app.command("generate")
def dataset_generate(
    n: Annotated[int, typer.Option("--n", help="Number of designs: design i is a pure function of (space, seed, i)")],
    out: Annotated[Path, typer.Option("--out", help="Output directory (records.jsonl, failed.jsonl); rerun to resume")],
    space: Annotated[str, typer.Option(help="dense | conv | mixed | tiny")] = "dense",
    workers: Annotated[int, typer.Option(help="Local worker processes (with --ray-address local: its CPUs)")] = 1,
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster address, or 'local' to start one")] = None,
    label: Annotated[str, typer.Option(help="open (da4ml + Yosys) | vivado (needs vivado_hls/vitis_hls on PATH)")] = "open",
    seed: Annotated[int, typer.Option(help="Seed of the design space")] = 0,
    timeout_s: Annotated[float, typer.Option(help="Per-design time limit, seconds")] = 900.0,
) -> None:
    """Sample HGQ2 designs, label them (Yosys or Vivado HLS) and append one wa-hls4ml record per line."""
    from .datasets.generate import generate  # TensorFlow is imported by the workers only

    summary = generate(n, out, space=space, workers=workers, ray_address=ray_address, label=label,
                       seed=seed, timeout_s=timeout_s)
    console.print(summary.line(), highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point: run the Typer app, turning UserError into one line and exit code 2."""
    try:
        app()
    except UserError as err:
        _fail(str(err), 2)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except Exception as err:  # a bug: say so in one line unless asked for the traceback
        if os.environ.get("FPGAML_DEBUG"):
            raise
        console.print(f"[bold red]internal error:[/] {type(err).__name__}: {err} (FPGAML_DEBUG=1 for a traceback)",
                      highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
