"""Design-space exploration: sweep build options with the surrogate, find the Pareto front, check it for real.

    df = explore(model, reuse_factor=[1, 2, 4, 8], strategy=["latency", "resource"], part="xcu250")
    write_pareto_png(df, "pareto.png", "xcu250")
    checked = validate(model, df, k=2, out_dir="out/validate")

Why three steps: the surrogate prices hundreds of configurations in seconds (one hls4ml
conversion per precision/strategy/io; every reuse factor is re-timed analytically from that
conversion), while a real build costs tens of seconds and a synthesis minutes. So the sweep
is all-surrogate, and only the few Pareto-optimal designs are built and measured.

Definitions (the columns of the returned frame):

* ``<target>``, ``<target>_low``, ``<target>_high`` for lut, ff, dsp, bram (18 Kb blocks),
  latency_cycles, ii: the surrogate's value and 90% interval.
* ``<res>_pct`` for lut/ff/dsp/bram: the value as a percentage of the part's total
  (``compiler.parts.PARTS``); ``<res>_pct_high``: the same for the upper bound.
* ``resource_pct``: the largest of the four percentages (the resource that runs out first),
  ``resource_pct_high`` the same on the upper bounds.
* ``fits``: every resource within 100% of the part *at the upper interval bound* by default
  (``fit_on="high"``: a design is called fitting only if it still fits when the estimate is
  pessimistic); ``fit_on="value"`` uses the point estimate instead. The frame's
  ``attrs["fit_on"]`` records which.
* ``pareto``: not dominated in (``resource_pct``, ``latency_cycles``), both point estimates,
  among the rows the surrogate could price. A row dominates another when it is no worse in
  both and strictly better in one; equal rows are both kept.
* ``ood``/``ood_reason``: outside the surrogate's training data (then the estimate is the
  analytic model's alone, with widened intervals); rows the surrogate could not price at all
  (e.g. an invalid reuse factor) have NaN estimates, ``ood`` True and the reason.
"""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ToolMissing, UserError
from .parts import Part, resolve_part

TARGETS = ("lut", "ff", "dsp", "bram", "latency_cycles", "ii")
# Estimate target -> the Part field holding the device total (BRAM is counted in 18 Kb blocks).
RESOURCES = {"lut": "lut", "ff": "ff", "dsp": "dsp", "bram": "bram_18k"}
CONFIG_COLUMNS = ("reuse_factor", "precision", "strategy", "io_type", "part", "clock_period")
FIT_MODES = ("high", "value")
# Models up to this many parameters (as Keras counts them, HGQ2 quantizer state included) also
# go through Yosys in validate(): synth_xilinx on a fully parallel da4ml design grows quickly
# with size. tiny_mlp is well under it; jet_tagger (18k) is over it.
OPEN_FLOW_MAX_PARAMS = 1000


# --- the sweep ---

def _as_list(values: Any, name: str) -> list[Any]:
    """One value or an iterable of them -> a non-empty list (a bare string is one value)."""
    if values is None or isinstance(values, (str, int, float)):
        return [values]
    out = list(values)
    if not out:
        raise UserError(f"empty {name} list; give at least one value")
    return out


def configurations(
    reuse_factor: Iterable[int] | int = (1,),
    precision: Iterable[str | None] | str | None = None,
    strategy: Iterable[str] | str = "latency",
) -> list[dict[str, Any]]:
    """The cartesian product, ordered so that one conversion serves a run of reuse factors."""
    rfs = _as_list(reuse_factor, "reuse factor")
    for rf in rfs:
        if isinstance(rf, bool) or not isinstance(rf, (int, np.integer)) or rf < 1:
            raise UserError(f"invalid reuse factor {rf!r}; expected integers >= 1")
    return [{"precision": p, "strategy": s, "reuse_factor": int(rf)}
            for p, s, rf in itertools.product(_as_list(precision, "precision"), _as_list(strategy, "strategy"), rfs)]


def explore(
    model: Any,
    reuse_factor: Iterable[int] | int = (1, 2, 4, 8, 16, 32, 64),
    precision: Iterable[str | None] | str | None = None,
    strategy: Iterable[str] | str = "latency",
    *,
    part: str = "xcvu13p",
    io_type: str | None = None,
    clock_period: float | None = None,
    fit_on: str = "high",
    input_shape: tuple[int, ...] | None = None,
    model_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Price every configuration (reuse factor x precision x strategy) with the surrogate.

    ``model``: anything :func:`fpgaml.predict` takes. ``precision`` None means the build's
    default (for HGQ2/QKeras models the quantizers fix the layer types, so precision changes
    little there). Returns one row per configuration; see the module docstring for columns.
    Options the surrogate rejects outright (unknown part or strategy, bad precision string)
    raise UserError; a configuration that hls4ml cannot realise gets a NaN row with the reason.
    """
    from ..surrogates import predict_many

    if fit_on not in FIT_MODES:
        raise UserError(f"invalid fit_on '{fit_on}'; expected one of {', '.join(FIT_MODES)}")
    full_part, info = resolve_part(part)
    configs = configurations(reuse_factor, precision, strategy)
    _check_options(configs, io_type, clock_period)
    common = {"part": full_part, "io_type": io_type, "clock_period": clock_period, "input_shape": input_shape}
    items = [{"model": model, **common, **cfg} for cfg in configs]
    pred = predict_many(items, model_dir=model_dir)
    frame = pd.DataFrame([{**cfg, "io_type": io_type or "parallel", "part": full_part, "clock_period": clock_period}
                          for cfg in configs])
    frame = pd.concat([frame, pred[[f"{t}{s}" for t in TARGETS for s in ("", "_low", "_high")] + ["ood", "ood_reason"]]],
                      axis=1)
    _raise_if_all_failed(frame)
    frame = add_utilization(frame, info, fit_on)
    frame["pareto"] = pareto_mask(frame["resource_pct"].to_numpy(float), frame["latency_cycles"].to_numpy(float))
    frame.attrs.update({"part": full_part, "device": info.device, "fit_on": fit_on})
    return frame


def _check_options(configs: list[dict[str, Any]], io_type: str | None, clock_period: float | None) -> None:
    """Validate each precision/strategy the way a build would, before any conversion: a typo
    is the user's error and must not come back as a sweep full of NaN rows."""
    from .options import BuildOptions

    io = {"io_parallel": "parallel", "io_stream": "stream"}.get(str(io_type), io_type)
    for cfg in {(c["precision"], c["strategy"]): c for c in configs}.values():
        given = {"precision": cfg["precision"], "strategy": cfg["strategy"], "io": io, "clock_period": clock_period}
        BuildOptions(**{k: v for k, v in given.items() if v is not None}, csim=False)


def _raise_if_all_failed(frame: pd.DataFrame) -> None:
    """Every row failing is an input error (a bad option), not a design-space finding."""
    if frame["lut"].isna().all():
        raise UserError(f"the surrogate could not price any configuration: {frame['ood_reason'].iloc[0]}")


def add_utilization(frame: pd.DataFrame, part: Part, fit_on: str = "high") -> pd.DataFrame:
    """Add <res>_pct, <res>_pct_high, resource_pct(_high) and fits, against ``part``'s totals."""
    out = frame.copy()
    for target, field in RESOURCES.items():
        total = getattr(part, field)
        out[f"{target}_pct"] = 100.0 * out[target] / total if total else np.where(out[target] > 0, np.inf, 0.0)
        out[f"{target}_pct_high"] = (100.0 * out[f"{target}_high"] / total if total
                                     else np.where(out[f"{target}_high"] > 0, np.inf, 0.0))
    out["resource_pct"] = out[[f"{t}_pct" for t in RESOURCES]].max(axis=1, skipna=False)
    out["resource_pct_high"] = out[[f"{t}_pct_high" for t in RESOURCES]].max(axis=1, skipna=False)
    basis = out["resource_pct_high"] if fit_on == "high" else out["resource_pct"]
    out["fits"] = (basis <= 100.0).fillna(False).astype(bool)
    return out


def pareto_mask(cost: np.ndarray, latency: np.ndarray) -> np.ndarray:
    """True where (cost, latency) is not dominated by another finite point (both minimised).

    O(n^2), which is nothing at the few hundred configurations a sweep has and keeps the
    definition (no worse in both, strictly better in one) readable.
    """
    ok = np.isfinite(cost) & np.isfinite(latency)
    mask = np.zeros(len(cost), dtype=bool)
    for i in np.flatnonzero(ok):
        no_worse = ok & (cost <= cost[i]) & (latency <= latency[i])
        better = (cost < cost[i]) | (latency < latency[i])
        mask[i] = not np.any(no_worse & better)
    return mask


def best_pareto(df: pd.DataFrame, k: int) -> pd.DataFrame:
    """The ``k`` Pareto rows to build first: fitting ones before the rest, then the lowest latency.

    Why latency first: along a Pareto front every step down in latency costs resources, so
    the fastest design that still fits is the one a user most wants confirmed.
    """
    front = df[df["pareto"]]
    return front.sort_values(["fits", "latency_cycles", "resource_pct"], ascending=[False, True, True]).head(k)


# --- the plot ---

def _label(row: pd.Series) -> str:
    prec = "" if row.get("precision") in (None, "") or pd.isna(row.get("precision")) else f" {row['precision']}"
    return f"RF{int(row['reuse_factor'])} {str(row['strategy'])[:3]}{prec}"


def write_pareto_png(df: pd.DataFrame, path: str | Path, part: str | None = None, *, title: str | None = None) -> Path:
    """Resources (max % of the part over LUT/FF/DSP/BRAM) against latency, Pareto front joined.

    Log scales on both axes because reuse-factor sweeps move both quantities geometrically.
    The shaded band is resource_pct <= 100% (the part's capacity); open markers are
    configurations the surrogate marks out-of-distribution. Every Pareto point is
    annotated, and other points too when there are few enough to stay readable.
    """
    # Figure, not pyplot: no GUI backend is touched and a notebook's own plotting state
    # (inline backend, current figure) is left alone.
    from matplotlib.figure import Figure

    part_name = part or df.attrs.get("part") or str(df["part"].iloc[0])
    data = df[np.isfinite(df["resource_pct"]) & np.isfinite(df["latency_cycles"])]
    if data.empty:
        raise UserError("nothing to plot: the surrogate priced no configuration")
    fig = Figure(figsize=(9, 6), dpi=110)
    ax = fig.subplots()
    _draw_points(ax, data)
    _draw_front(ax, data[data["pareto"]].sort_values("resource_pct"))
    _shade_fit(ax, data)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("resources: max over LUT/FF/DSP/BRAM (% of part, point estimate)")
    ax.set_ylabel("latency (clock cycles, surrogate estimate)")
    ax.set_title(title or f"Design space on {part_name}: {len(data)} configurations")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    _annotate(ax, data)  # after the layout: label placement works in final pixel positions
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def _draw_points(ax: Any, data: pd.DataFrame) -> None:
    """One colour per strategy/precision group; filled = in distribution, open = OOD."""
    precision = data["precision"].astype(object).where(data["precision"].notna(), "default precision").astype(str)
    groups = data.groupby([data["strategy"].astype(str), precision], sort=True)
    colours = iter(["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
                    "tab:cyan", "tab:gray"] * 10)
    for (strategy, precision), group in groups:
        colour = next(colours)
        name = f"{strategy}, {precision}"
        for ood, sub in group.groupby("ood"):
            ax.scatter(sub["resource_pct"], sub["latency_cycles"], s=36, zorder=3,
                       facecolors="none" if ood else colour, edgecolors=colour, linewidths=1.4,
                       label=f"{name}{' (OOD)' if ood else ''}")
        err = np.abs(np.vstack([group["latency_cycles"] - group["latency_cycles_low"],
                                group["latency_cycles_high"] - group["latency_cycles"]]))
        ax.errorbar(group["resource_pct"], group["latency_cycles"], yerr=err, fmt="none", ecolor=colour,
                    alpha=0.25, zorder=2)


def _draw_front(ax: Any, front: pd.DataFrame) -> None:
    ax.step(front["resource_pct"], front["latency_cycles"], where="post", color="crimson", lw=1.5, zorder=4,
            label="Pareto front")
    ax.scatter(front["resource_pct"], front["latency_cycles"], s=110, facecolors="none", edgecolors="crimson",
               linewidths=2, zorder=5, label="Pareto-optimal")


def _shade_fit(ax: Any, data: pd.DataFrame) -> None:
    """Shade x <= 100% (fits the part) after the points set the limits, then restore them."""
    pct = data["resource_pct"].to_numpy(float)
    lo = min(float(pct[pct > 0].min(initial=1.0)), 100.0) * 0.3
    hi = max(float(pct.max()), 100.0) * 1.6
    ax.set_xlim(lo, hi)
    ax.axvspan(lo, 100.0, color="tab:green", alpha=0.08, zorder=0, label="fits the part (<= 100%)")
    ax.axvline(100.0, color="tab:green", ls="--", lw=1, zorder=1)


def _annotate(ax: Any, data: pd.DataFrame, max_all: int = 16) -> None:
    """Label points (all when few, else the Pareto ones).

    Pareto labels go to the left of their point: left of a Pareto point at the same latency
    there can be no other point (it would dominate), so that space is free. Other labels go
    to the right. Configurations on the same spot share one label ("A / B"), which shows a
    setting that changes nothing (e.g. precision on an HGQ2 model). A label that would
    overlap one already placed on the same side is moved up by a line.
    """
    rows = data if len(data) <= max_all else data[data["pareto"]]
    spots = rows.assign(_x=rows["resource_pct"].round(6), _y=rows["latency_cycles"].round(6),
                        _l=rows.apply(_label, axis=1))
    merged = spots.groupby(["_x", "_y"], sort=False).agg(label=("_l", lambda v: " / ".join(dict.fromkeys(v))),
                                                           pareto=("pareto", "any")).reset_index()
    ax.get_ylim()  # settle autoscaling so data -> pixel transforms are final
    placed: list[tuple[float, float, float, float]] = []  # label boxes (x0, y0, x1, y1) in pixels
    ordered = merged.sort_values(["pareto", "_y"], ascending=[False, True])
    xy = ax.transData.transform(ordered[["_x", "_y"]].to_numpy(float))
    for (_, row), (x_px, y_px) in zip(ordered.iterrows(), xy):
        dx, dy, ha = _label_spot(row["label"], x_px, y_px, bool(row["pareto"]), placed, ax.figure.dpi / 72.0)
        ax.annotate(row["label"], (row["_x"], row["_y"]), xytext=(dx, dy), textcoords="offset points", ha=ha,
                    va="center", fontsize=7, color="crimson" if row["pareto"] else "dimgray",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})


def _label_spot(text: str, x: float, y: float, pareto: bool, placed: list[tuple[float, float, float, float]],
                px_per_pt: float) -> tuple[float, float, str]:
    """The first free spot next to the point (offsets in points, alignment), preferring the
    left for Pareto points and the right for others; records the chosen box in ``placed``.
    Label boxes are estimated from the character count (7 pt font), good enough to avoid
    stacking labels on each other; when every spot is taken the preferred one is used."""
    width, height = len(text) * 7 * 0.55 * px_per_pt, 10 * px_per_pt
    sides = [(-9, "right"), (9, "left")] if pareto else [(9, "left"), (-9, "right")]
    spots = [(dx, dy, ha) for dy in (0, -10, 10) for dx, ha in sides]
    for dx, dy, ha in spots:
        box = _box(x + dx * px_per_pt, y + dy * px_per_pt, width, height, ha)
        if all(box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3] for b in placed):
            placed.append(box)
            return dx, dy, ha
    dx, dy, ha = spots[0]
    placed.append(_box(x + dx * px_per_pt, y, width, height, ha))
    return dx, dy, ha


def _box(x: float, y: float, width: float, height: float, ha: str) -> tuple[float, float, float, float]:
    x0 = x - width if ha == "right" else x
    return (x0, y - height / 2, x0 + width, y + height / 2)

# --- building the best few for real ---

def _slug(cfg: pd.Series) -> str:
    prec = "" if cfg["precision"] is None or pd.isna(cfg["precision"]) else "_" + re.sub(r"[^0-9a-z]+", "_",
                                                                                             str(cfg["precision"]))
    return f"rf{int(cfg['reuse_factor'])}_{cfg['strategy']}{prec}".rstrip("_")


def _hls_tool_available(backend: str | None) -> bool:
    """Vivado/Vitis HLS on PATH (checked the way ``build(synth=True)`` checks it)."""
    from .options import BuildOptions
    from .synthesis import require_hls_tool

    try:
        require_hls_tool(backend or BuildOptions().backend)
    except (ToolMissing, UserError):
        return False
    return True


def validate(
    model: Any,
    df: pd.DataFrame,
    k: int,
    out_dir: str | Path,
    *,
    open_flow: bool | None = None,
    synth: bool | None = None,
    yosys_timeout_s: float = 900,
    force: bool = False,
) -> pd.DataFrame:
    """Build the ``k`` best Pareto configurations for real and put predicted beside measured.

    Measured, and by what (the ``measured_by`` column says it per row):

    * ``csim_*``: ``fpgaml.build`` compiles the hls4ml project with g++ and runs it against
      the framework model on 1000 seeded inputs (bit_exact, max_abs_diff). Correctness only.
    * ``hls_*``: Vivado/Vitis HLS synthesis estimates (``report['synthesis']``), only when the
      tool is on PATH (``synth`` None: use it if present). These are the only measured
      counterparts of the surrogate's LUT/FF/DSP/BRAM/latency for the hls4ml design.
    * ``open_lut``/``open_ff``: Yosys synth_xilinx on the da4ml RTL (HGQ2 models of at most
      OPEN_FLOW_MAX_PARAMS parameters unless ``open_flow`` is True). That is a *different*
      circuit -- fully parallel distributed arithmetic, independent of reuse factor and
      strategy -- so it is synthesized once and only bounds what the model costs in logic;
      it is not a measurement of the hls4ml configuration in the row.

    Builds go to OUT/<rf..._strategy...>/, the open flow to OUT/open_flow/.
    """
    from ..compiler.build import build

    if isinstance(k, bool) or int(k) != k or k < 1:
        raise UserError(f"invalid k {k!r}; expected a positive number of configurations to build")
    chosen = best_pareto(df, int(k))
    if chosen.empty:
        raise UserError("no Pareto configuration to validate (the surrogate priced none)")
    out = Path(out_dir)
    run_synth = _hls_tool_available(None) if synth is None else synth
    rows, open_result, loaded = [], None, None
    for _, cfg in chosen.iterrows():
        result = build(model, out / _slug(cfg), force=force, part=cfg["part"], reuse_factor=int(cfg["reuse_factor"]),
                       precision=None if pd.isna(cfg["precision"]) else cfg["precision"], strategy=cfg["strategy"],
                       io=_io_option(cfg["io_type"]), clock_period=_clock(cfg["clock_period"]),
                       synth=True if run_synth else None)
        loaded = result.loaded
        rows.append(_row(cfg, result.report, result.output_dir))
    if loaded is not None and _wants_open_flow(loaded, open_flow):
        open_result = _open_flow(loaded, out / "open_flow", str(chosen["part"].iloc[0]), yosys_timeout_s, force)
    return _finish(pd.DataFrame(rows), open_result)


def _io_option(io_type: Any) -> str | None:
    if io_type is None or pd.isna(io_type):
        return None
    return {"io_parallel": "parallel", "io_stream": "stream"}.get(str(io_type), str(io_type))


def _clock(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _row(cfg: pd.Series, report: dict, output_dir: Path) -> dict[str, Any]:
    """Predicted (from the sweep) and measured (from the build's report) for one configuration."""
    row: dict[str, Any] = {c: cfg[c] for c in CONFIG_COLUMNS}
    row["output_dir"] = str(output_dir)
    for t in TARGETS:
        row[f"pred_{t}"] = cfg[t]
        row[f"pred_{t}_low"], row[f"pred_{t}_high"] = cfg[f"{t}_low"], cfg[f"{t}_high"]
    row["pred_ood"] = bool(cfg["ood"])
    csim = report.get("csim") or {}
    row["csim_bit_exact"] = csim.get("bit_exact")
    row["csim_max_abs_diff"] = csim.get("max_abs_diff")
    row["csim_n_samples"] = csim.get("n_samples")
    synth = report.get("synthesis") or {}
    for t, key in (("lut", "lut"), ("ff", "ff"), ("dsp", "dsp"), ("bram", "bram"),
                   ("latency_cycles", "latency_cycles_max"), ("ii", "ii_max")):
        row[f"hls_{t}"] = synth.get(key, np.nan)
    backend = (report.get("config") or {}).get("backend", "vivado")
    row["hls_tool"] = f"{backend} HLS C-synthesis report (report['synthesis'])" if synth else None
    return row


def _wants_open_flow(loaded: Any, open_flow: bool | None) -> bool:
    is_hgq = str(getattr(loaded, "source_format", "")).lower().startswith("hgq")
    if open_flow is None:
        return is_hgq and int(getattr(loaded, "n_params", 0) or 0) <= OPEN_FLOW_MAX_PARAMS
    return bool(open_flow) and is_hgq


def _open_flow(loaded: Any, out: Path, part: str, timeout_s: float, force: bool) -> dict[str, Any] | None:
    """da4ml RTL + Yosys once for the model; None (not an error) when Yosys is not installed."""
    from .rtl import emit_rtl, missing_tools, synthesize

    if missing_tools(verilator=False, yosys=True):
        return None
    if out.exists() and any(out.iterdir()):
        if not force:
            raise UserError(f"{out}: output directory exists and is not empty; use force=True to replace it")
        shutil.rmtree(out)
    emit_rtl(loaded, out, part=part)
    return synthesize(out, part, timeout_s)


def _finish(frame: pd.DataFrame, open_result: dict[str, Any] | None) -> pd.DataFrame:
    frame["open_lut"] = np.nan if open_result is None else open_result.get("lut")
    frame["open_ff"] = np.nan if open_result is None else open_result.get("ff")
    frame["open_tool"] = None if open_result is None else (
        f"{open_result.get('tool', 'yosys')} {open_result.get('version', '')}".strip()
        + " on the da4ml RTL (fully parallel; not this hls4ml configuration)")
    frame["measured_by"] = [_measured_by(r, open_result is not None) for _, r in frame.iterrows()]
    return frame


def _measured_by(row: pd.Series, open_flow: bool) -> str:
    parts = ["bit_exact: g++ C-sim of the hls4ml project vs the framework model"]
    parts.append(f"hls_*: {row['hls_tool']}" if row["hls_tool"] else "hls_*: not measured (no Vivado/Vitis HLS on PATH)")
    if open_flow:
        parts.append("open_*: Yosys on the da4ml RTL (a different, fully parallel circuit)")
    return "; ".join(parts)


def summary_columns(df: pd.DataFrame) -> Sequence[str]:
    """The columns worth printing for a quick look at a sweep (CLI table, notebooks)."""
    wanted = ["reuse_factor", "precision", "strategy", "lut", "ff", "dsp", "bram", "latency_cycles", "ii",
              "resource_pct", "fits", "pareto", "ood"]
    return [c for c in wanted if c in df.columns]
