"""`fpgaml explore`: sweep reuse factor x precision x strategy with the surrogate, plot, optionally build.

Registered in fpgaml/cli.py with ``app.command("explore")(explore_command)``. Kept out of
cli.py so the command's parsing (lists of options) can be tested without the Typer app, and
out of compiler/explore.py so the library does not depend on Typer or rich.

List options:

* ``--reuse-factor 1,2,4,8``: comma-separated integers.
* ``--strategy latency,resource``: comma-separated names.
* ``--precision``: a precision itself contains a comma (``ap_fixed<16,6>``), so the list is
  separated by ``;`` -- ``--precision 'ap_fixed<16,6>;ap_fixed<8,3>'`` -- or the option is
  repeated: ``--precision 'ap_fixed<16,6>' --precision 'ap_fixed<8,3>'`` (both forms mix).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .cli_common import check_model_or_example, model_source
from .compiler.errors import UserError

OUTPUTS = ("explore.csv", "pareto.png", "validate.csv", "validate")
_PRECISION = re.compile(r"^\s*(ap_fixed|ap_ufixed|ap_int|ap_uint|fixed|ufixed|int|uint)\s*<[^<>]*>\s*$", re.IGNORECASE)


def parse_reuse_factors(text: str) -> list[int]:
    """'1,2,4' -> [1, 2, 4]; duplicates dropped in order (each configuration once)."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"invalid --reuse-factor '{text}'; expected comma-separated integers such as 1,2,4,8") from None
    if not values or any(v < 1 for v in values):
        raise UserError(f"invalid --reuse-factor '{text}'; expected comma-separated integers >= 1")
    return list(dict.fromkeys(values))


def parse_strategies(text: str) -> list[str]:
    values = [v.strip().lower() for v in text.split(",") if v.strip()]
    if not values:
        raise UserError(f"invalid --strategy '{text}'; expected e.g. latency,resource")
    return list(dict.fromkeys(values))


def parse_precisions(given: list[str] | None) -> list[str | None]:
    """Repeated options and ';'-separated lists, flattened. A lone comma-separated list of
    precisions (the natural mistake: 'ap_fixed<16,6>,ap_fixed<8,3>') is refused with the fix."""
    if not given:
        return [None]
    values = [v.strip() for item in given for v in item.split(";") if v.strip()]
    bad = [v for v in values if not _PRECISION.match(v)]
    if bad or not values:
        raise UserError(f"invalid --precision '{bad[0] if bad else ''}'; give one precision per option or separate "
                        "them with ';', e.g. --precision 'ap_fixed<16,6>;ap_fixed<8,3>'")
    return list(dict.fromkeys(values))


def _prepare_out(out: Path, force: bool) -> None:
    """Refuse a non-empty DIR without --force; with it, remove only what explore writes there."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: output path exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise UserError(f"{out}: output directory exists and is not empty; use --force to replace it")
        for name in OUTPUTS:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)


_HEADERS = {"reuse_factor": "RF", "precision": "precision", "strategy": "strategy", "lut": "LUT", "ff": "FF",
            "dsp": "DSP", "bram": "BRAM18K", "latency_cycles": "latency", "ii": "II", "resource_pct": "max %",
            "fits": "fits", "ood": "OOD"}


def _print_pareto(df: Any, title: str) -> None:
    """The Pareto rows, cheapest first; the full sweep is in explore.csv."""
    from rich.table import Table

    table = Table(title=title)
    for col, header in _HEADERS.items():
        table.add_column(header, justify="left" if col in ("precision", "strategy") else "right")
    front = df[df["pareto"]].sort_values(["resource_pct", "latency_cycles"])
    for _, row in front.iterrows():
        table.add_row(*[_cell(row[c], c) for c in _HEADERS])
    _wide_console().print(table)


def _cell(value: Any, column: str = "") -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "default" if column == "precision" else "-"
    if isinstance(value, (bool,)) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if column.endswith("_pct"):
        return f"{float(value):.1f}"
    if isinstance(value, float):
        return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def _wide_console() -> Any:
    """Rich falls back to 80 columns when piped, which truncates every number; tables need ~110."""
    from rich.console import Console

    console = Console()
    return Console(width=max(console.width, 112)) if console.width < 112 else console


def explore_command(
    model: Annotated[Optional[str], typer.Argument(help="Model file, file.py:factory, or dense widths like 16-64-32-32-5")] = None,
    example: Annotated[Optional[str], typer.Option(help="An example from `fpgaml examples`")] = None,
    reuse_factor: Annotated[str, typer.Option(help="Comma-separated reuse factors, e.g. 1,2,4,8")] = "1,2,4,8,16,32,64",
    precision: Annotated[Optional[list[str]], typer.Option(
        help="Precision(s): repeat the option or separate with ';' (a precision has a comma inside)")] = None,
    strategy: Annotated[str, typer.Option(help="Comma-separated strategies: latency,resource")] = "latency",
    part: Annotated[str, typer.Option(help="Xilinx part or alias")] = "xcvu13p",
    io: Annotated[Optional[str], typer.Option(help="parallel | stream")] = None,
    clock_period: Annotated[Optional[float], typer.Option(help="Clock period in ns")] = None,
    fit_on: Annotated[str, typer.Option(help="'high' (upper interval bound) or 'value' decides `fits`")] = "high",
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for explore.csv and pareto.png")] = ...,
    validate_k: Annotated[int, typer.Option("--validate", help="Build the K best Pareto configurations (C-sim)")] = 0,
    force: Annotated[bool, typer.Option(help="Replace explore's files in a non-empty --out")] = False,
) -> None:
    """Sweep reuse factor x precision x strategy with the surrogate; write explore.csv and pareto.png."""
    from rich.console import Console

    check_model_or_example(model, example)  # before --out is touched; the example loads later
    if validate_k < 0:
        raise UserError(f"invalid --validate {validate_k}; expected a number of configurations >= 0")
    rfs, strategies, precisions = parse_reuse_factors(reuse_factor), parse_strategies(strategy), parse_precisions(precision)
    from .compiler.explore import explore, validate, write_pareto_png

    _prepare_out(out, force)  # checked before the (slower) model load and sweep
    source = model_source(model, example)
    status = Console(stderr=True)
    with status.status(f"pricing {len(rfs) * len(strategies) * len(precisions)} configurations"):
        df = explore(source, reuse_factor=rfs, precision=precisions, strategy=strategies, part=part, io_type=io,
                     clock_period=clock_period, fit_on=fit_on)
    df.to_csv(out / "explore.csv", index=False)
    write_pareto_png(df, out / "pareto.png", part)
    _print_pareto(df, f"Pareto-optimal of {len(df)} configurations ({df.attrs['part']}; fits: {fit_on} bound)")
    if validate_k:
        with status.status(f"building the {validate_k} best Pareto configuration(s)"):
            checked = validate(source, df, validate_k, out / "validate", force=force)
        checked.to_csv(out / "validate.csv", index=False)
        _print_validation(checked)
    Console().print(f"wrote {out / 'explore.csv'}, {out / 'pareto.png'}"
                    + (f", {out / 'validate.csv'}" if validate_k else ""), highlight=False)


def _print_validation(checked: Any) -> None:
    """Predicted beside measured, and which tool measured what (one line under the table)."""
    from rich.table import Table

    table = Table(title="Predicted (surrogate) beside measured")
    headers = {"reuse_factor": "RF", "strategy": "strategy", "pred_lut": "LUT pred", "hls_lut": "LUT HLS",
               "open_lut": "LUT Yosys/da4ml", "pred_latency_cycles": "latency pred",
               "hls_latency_cycles": "latency HLS", "csim_bit_exact": "bit-exact"}
    columns = list(headers)
    for col in columns:
        table.add_column(headers[col], justify="right")
    for _, row in checked.iterrows():
        table.add_row(*[_cell(row[c], c) for c in columns])
    console = _wide_console()
    console.print(table)
    console.print(checked["measured_by"].iloc[0], highlight=False, soft_wrap=True)
