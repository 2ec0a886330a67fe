"""Train and evaluate surrogates on a dataset table (``fpgaml.datasets.load`` output).

Split: by architecture (the ``layer_widths`` string), hashed with the seed, so a network
seen in training at RF=1024 never appears in the held-out sets at RF=2047 -- the held-out
error is the error on *new networks*. 70% train, 10% calibration (split-conformal interval
widths: measured, not assumed), 20% test (the metrics in surrogates/README.md). The split
depends only on (seed, architecture), so ``evaluate`` recomputes it on any table.

Training is small on purpose (minutes on two CPU cores): the analytic model is calibrated
first (least squares on the training split), then the GNN learns the residual for a fixed
number of epochs (no early stopping on the calibration split, which must stay unseen for
the conformal guarantee). A checkpoint is written after every epoch; a killed run started
again with the same arguments resumes where it stopped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..compiler.errors import UserError
from .analytic import TARGETS, AnalyticModel
from .features import DesignSpec, from_row, tabulate
from .model import Surrogate, default_weights
from .ood import Domain

#: Dataset column holding each target. Latency: worst case. II: the CSVs have none.
TARGET_COLUMNS = {"lut": "lut", "ff": "ff", "dsp": "dsp", "bram": "bram", "latency_cycles": "cycles_max",
                  "ii": "interval_max"}
SPLITS = (("train", 0.7), ("calib", 0.8), ("test", 1.0))
ALPHA = 0.1  # 90% intervals


# --- data preparation ---

def labels(df: pd.DataFrame) -> np.ndarray:
    """[rows, T] float64, NaN where a target was not measured."""
    cols = []
    for target in TARGETS:
        column = TARGET_COLUMNS[target]
        cols.append(pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float) if column in df else
                    np.full(len(df), np.nan))
    return np.column_stack(cols)


def featurize(df: pd.DataFrame) -> tuple[list[DesignSpec], np.ndarray]:
    """Specs of the rows that can be featurized (records with a design graph, dense width
    rows), and the row positions they came from."""
    specs, keep = [], []
    for i, row in enumerate(df.to_dict("records")):
        try:
            specs.append(from_row(row))
        except UserError:
            continue
        keep.append(i)
    return specs, np.asarray(keep, dtype=np.int64)


def split_of(architectures: Any, seed: int) -> np.ndarray:
    """'train' / 'calib' / 'test' per row, from md5(seed:architecture)."""
    out = []
    for arch in architectures:
        h = int(hashlib.md5(f"{seed}:{arch}".encode()).hexdigest()[:8], 16) / 0x100000000
        out.append(next(name for name, upper in SPLITS if h < upper))
    return np.asarray(out)


def _architectures(df: pd.DataFrame) -> pd.Series:
    col = "layer_widths" if "layer_widths" in df else "model_string"
    return df[col].astype(str)


# --- metrics ---

def metrics(y: np.ndarray, pred: np.ndarray, low: np.ndarray | None = None, high: np.ndarray | None = None) -> dict:
    """SMAPE (%), R2 (linear scale), relative error |p-y|/max(y,1) median/p75/p90, coverage."""
    known = np.isfinite(y)
    y, p = y[known], pred[known]
    if y.size == 0:
        return {"n": 0}
    denom = np.abs(p) + np.abs(y)
    smape = 100.0 * np.mean(np.where(denom > 0, 2 * np.abs(p - y) / np.where(denom > 0, denom, 1), 0.0))
    ss_tot = np.sum((y - y.mean()) ** 2)
    r2 = 1.0 - np.sum((y - p) ** 2) / ss_tot if ss_tot > 0 else float("nan")
    rel = np.abs(p - y) / np.maximum(np.abs(y), 1.0)
    out = {"n": int(y.size), "smape": float(smape), "r2": float(r2), "rel_median": float(np.median(rel)),
           "rel_p75": float(np.quantile(rel, 0.75)), "rel_p90": float(np.quantile(rel, 0.9))}
    if low is not None and high is not None:
        lo, hi = low[known], high[known]
        out["coverage"] = float(np.mean((y >= lo - 1e-9) & (y <= hi + 1e-9)))
    return out


def conformal_q(y: np.ndarray, pred: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Split-conformal half-width per target in log1p space: the ceil((n+1)(1-alpha))-th
    smallest |log1p(y) - log1p(pred)| on the calibration split; NaN where no labels."""
    q = np.full(y.shape[1], np.nan)
    for j in range(y.shape[1]):
        known = np.isfinite(y[:, j])
        n = int(known.sum())
        if n < 20:
            continue
        scores = np.sort(np.abs(np.log1p(y[known, j]) - np.log1p(np.maximum(pred[known, j], 0))))
        k = min(n - 1, math.ceil((n + 1) * (1 - alpha)) - 1)
        q[j] = scores[k]
    return q


# --- training ---

def _one_thread() -> None:
    """Train on one intra-op thread. The networks are small (hidden 64, batches of 256
    designs): on the 2-core development machine, shared with a dataset run (two Yosys
    workers), one GNN epoch on the wa-hls4ml data took ~3 minutes with two threads (their
    OpenMP workers spin against the other processes) and ~2 seconds with one."""
    import torch

    torch.set_num_threads(1)


def _loss(pred, y):
    import torch

    mask = torch.isfinite(y)
    err = torch.log1p(pred.clamp_min(0.0)) - torch.log1p(torch.where(mask, y, torch.zeros_like(y)).clamp_min(0.0))
    return (err[mask] ** 2).mean()


def train(
    df: pd.DataFrame,
    arch: str = "gnn",
    out_dir: str | Path = "surrogate_run",
    seed: int = 0,
    epochs: int = 40,
    *,
    hidden: int = 64,
    layers: int = 3,
    batch_size: int = 256,
    lr: float = 2e-3,
    name: str | None = None,
    progress: bool = True,
) -> Path:
    """Train a surrogate on ``df`` and write ``NAME.pt`` / ``NAME.json`` (+ ``parity.png``,
    ``metrics.csv``) into ``out_dir``. ``arch``: 'gnn' or 'transformer' (analytic model + the
    network's log residual, see residual.py) or 'analytic' (calibrated analytic model only).
    ``name`` (of the weight files): the shipped name for the data's kind (model.default_weights).
    Returns ``out_dir``."""
    import torch
    from torch_geometric.loader import DataLoader

    from .data import data_list
    from .residual import ARCHITECTURES, NetworkConfig, build_network

    if arch not in (*ARCHITECTURES, "analytic"):
        raise UserError(f"unknown surrogate arch '{arch}'; supported: {', '.join(ARCHITECTURES)}, analytic")
    _one_thread()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    specs, rows = featurize(df)
    if len(specs) < 100:
        raise UserError(f"only {len(specs)} featurizable rows (dense width rows, or records with a design graph); "
                        "need at least 100 to train")
    name = name or default_weights([spec.pipeline_stages for spec in specs])
    sub = df.iloc[rows]
    y = labels(sub)
    split = split_of(_architectures(sub), seed)
    idx = {s: np.flatnonzero(split == s) for s, _ in SPLITS}
    say(f"{len(specs):,} designs: train {len(idx['train']):,}, calib {len(idx['calib']):,}, "
        f"test {len(idx['test']):,} (split by architecture, seed {seed})")
    tables = {s: tabulate([specs[i] for i in ix]) for s, ix in idx.items()}
    ys = {s: y[ix] for s, ix in idx.items()}
    settings = dict(arch=arch, seed=seed, epochs=epochs, hidden=hidden, layers=layers, batch_size=batch_size, lr=lr,
                    n=len(specs), labels=float(np.nansum(y[np.isfinite(y)])))
    run_key = hashlib.md5(json.dumps(settings, sort_keys=True).encode()).hexdigest()

    analytic_path = out / "analytic.json"
    state_path = out / "checkpoint.pt"
    resumed = json.loads((out / "run.json").read_text()).get("key") == run_key if (out / "run.json").exists() else False
    if resumed and analytic_path.exists():
        analytic = AnalyticModel.load(analytic_path)
        say("resuming: analytic calibration reused")
    else:
        say("calibrating the analytic model (least squares on log scale, training split)")
        t0 = time.perf_counter()
        analytic = AnalyticModel().fit(tables["train"], ys["train"], source=_data_description(sub))
        analytic.save(analytic_path)
        (out / "run.json").write_text(json.dumps({"key": run_key, "settings": settings}, indent=1))
        say(f"  done in {time.perf_counter() - t0:.1f} s")

    network = None
    history: list[dict] = []
    if arch in ARCHITECTURES:
        torch.manual_seed(seed)
        train_data = data_list(tables["train"], analytic, ys["train"])
        calib_data = data_list(tables["calib"], analytic, ys["calib"])
        config = NetworkConfig(node_dim=int(train_data[0].x.shape[1]), edge_dim=int(train_data[0].edge_attr.shape[1]),
                               arch=arch, hidden=hidden, layers=layers)
        network = build_network(config)
        opt = torch.optim.AdamW(network.parameters(), lr=lr, weight_decay=1e-4)
        steps = epochs * math.ceil(len(train_data) / batch_size)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1), pct_start=0.1)
        start = 0
        if resumed and state_path.exists():
            ck = torch.load(state_path, map_location="cpu", weights_only=True)
            network.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optim"])
            sched.load_state_dict(ck["sched"])
            start = int(ck["epoch"])
            history = json.loads((out / "history.json").read_text()) if (out / "history.json").exists() else []
            say(f"resuming after epoch {start}")
        calib_loader = DataLoader(calib_data, batch_size=1024, shuffle=False)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   TextColumn("{task.fields[info]}"))
        with Progress(*columns, disable=not progress, transient=False) as bar:
            task = bar.add_task(f"training {arch}", total=epochs, completed=start, info="")
            for epoch in range(start, epochs):
                gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
                loader = DataLoader(train_data, batch_size=batch_size, shuffle=True, generator=gen)
                network.train()
                total, count = 0.0, 0
                for batch in loader:
                    opt.zero_grad()
                    pred = network(batch.x, batch.edge_index, batch.edge_attr, batch.batch, batch.num_graphs,
                               batch.node_cost, batch.const)
                    loss = _loss(pred, batch.y)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
                    opt.step()
                    sched.step()
                    total += float(loss.detach()) * batch.num_graphs
                    count += batch.num_graphs
                network.eval()
                with torch.inference_mode():
                    closs = np.mean([float(_loss(network(b.x, b.edge_index, b.edge_attr, b.batch, b.num_graphs,
                                                     b.node_cost, b.const), b.y)) for b in calib_loader])
                history.append({"epoch": epoch + 1, "train_loss": total / max(count, 1), "calib_loss": float(closs)})
                torch.save({"epoch": epoch + 1, "model": network.state_dict(), "optim": opt.state_dict(),
                            "sched": sched.state_dict()}, state_path.with_suffix(".tmp"))
                state_path.with_suffix(".tmp").replace(state_path)
                (out / "history.json").write_text(json.dumps(history))
                bar.update(task, advance=1, info=f"train {total / max(count, 1):.4f}  calib {closs:.4f}")
        network.eval()

    surrogate = Surrogate(analytic=analytic, network=network, domain=Domain.from_table(tables["train"]),
                          q_network=np.full(len(TARGETS), np.nan), q_analytic=np.full(len(TARGETS), np.nan))
    calib_pred = surrogate.predict_table(tables["calib"])
    inside = ~calib_pred.ood  # in-domain widths from in-domain designs; outside uses the analytic ones
    surrogate.q_network = conformal_q(ys["calib"][inside], calib_pred.value[inside])
    surrogate.q_analytic = conformal_q(ys["calib"], calib_pred.analytic)
    test_pred = surrogate.predict_table(tables["test"])
    report = {
        "final": {t: metrics(ys["test"][:, j], test_pred.value[:, j], test_pred.low[:, j], test_pred.high[:, j])
                  for j, t in enumerate(TARGETS)},
        "analytic": {t: metrics(ys["test"][:, j], test_pred.analytic[:, j]) for j, t in enumerate(TARGETS)},
        "test_ood_fraction": float(test_pred.ood.mean()),
    }
    surrogate.meta = {
        "name": name,
        "arch": arch,
        "created": time.strftime("%Y-%m-%d"),
        "versions": _versions(),
        "conformal": {"alpha": ALPHA, "n_calib": int(len(idx["calib"])), "space": "log1p"},
        "training": {**settings, "n_train": int(len(idx["train"])), "n_calib": int(len(idx["calib"])),
                     "n_test": int(len(idx["test"])), "split": "md5(seed:layer_widths): <0.7 train, <0.8 calib, test",
                     "data": _data_description(sub), "label_columns": TARGET_COLUMNS,
                     "label_source": sorted({str(s) for s in sub.get("label_source", pd.Series(["?"])).dropna()}),
                     "history": history[-3:]},
        "metrics_test": report,
    }
    surrogate.save(out, name)
    table = metrics_table(report)
    table.to_csv(out / "metrics.csv")
    parity_plot(ys["test"], test_pred, out / "parity.png", _plot_title(surrogate.meta))
    say(table.to_string(float_format=lambda v: f"{v:.3f}"))
    return out


def _data_description(df: pd.DataFrame) -> str:
    sources = df["source"].dropna().unique() if "source" in df else list(df.attrs.get("files") or {})
    names = sorted({Path(str(s)).name for s in sources})
    return ", ".join(names) or "in-memory table"


def _versions() -> dict:
    out = {}
    for module in ("fpgaml", "torch", "torch_geometric", "hls4ml"):
        try:
            from importlib.metadata import version

            out[module] = version(module.replace("_", "-") if module == "torch_geometric" else module)
        except Exception:  # noqa: BLE001 - a version string is informative only
            out[module] = "?"
    return out


# --- evaluation ---

def metrics_table(report: dict) -> pd.DataFrame:
    rows = []
    for target in TARGETS:
        f, a = report["final"][target], report["analytic"][target]
        if not f.get("n"):
            rows.append({"target": target, "n": 0})
            continue
        rows.append({"target": target, "n": f["n"], "smape_%": f["smape"], "r2": f["r2"],
                     "rel_err_median": f["rel_median"], "rel_err_p75": f["rel_p75"], "rel_err_p90": f["rel_p90"],
                     "coverage_90": f.get("coverage"), "analytic_smape_%": a["smape"]})
    return pd.DataFrame(rows).set_index("target")


def evaluate(df: pd.DataFrame, model_dir: str | Path | None = None, *, split: str = "test", name: str | None = None,
             plot: str | Path | None = None) -> pd.DataFrame:
    """Per-target metrics of a trained surrogate on ``df``'s held-out split (recomputed from the
    seed stored with the weights; ``split='all'`` uses every row). Columns: n, SMAPE (%), R2,
    relative error median/p75/p90 (|p - y| / max(y, 1)), coverage of the 90% interval, and the
    analytic model's SMAPE for comparison. ``plot``: write a parity plot PNG there. ``name``:
    which weights in ``model_dir`` (default: the shipped name for the data's kind)."""
    specs, rows = featurize(df)
    surrogate = Surrogate.load(model_dir, name or default_weights([spec.pipeline_stages for spec in specs]))
    sub = df.iloc[rows]
    if split != "all":
        seed = int(surrogate.meta.get("training", {}).get("seed", 0))
        keep = np.flatnonzero(split_of(_architectures(sub), seed) == split)
        specs = [specs[i] for i in keep]
        sub = sub.iloc[keep]
    if not specs:
        raise UserError(f"no featurizable rows in the '{split}' split to evaluate")
    y = labels(sub)
    pred = surrogate.predict_table(tabulate(specs))
    report = {
        "final": {t: metrics(y[:, j], pred.value[:, j], pred.low[:, j], pred.high[:, j])
                  for j, t in enumerate(TARGETS)},
        "analytic": {t: metrics(y[:, j], pred.analytic[:, j]) for j, t in enumerate(TARGETS)},
    }
    if plot is not None:
        parity_plot(y, pred, Path(plot), _plot_title(surrogate.meta, split))
    table = metrics_table(report)
    table.attrs["ood_fraction"] = float(pred.ood.mean())
    return table


def _plot_title(meta: dict, split: str = "test") -> str:
    training = meta.get("training", {})
    return (f"fpgaml surrogate '{meta.get('name', '?')}' ({meta.get('arch', '?')}), {split} split, held-out "
            f"architectures; labels: {', '.join(training.get('label_source', ['?']))} ({training.get('data', '?')})")


def parity_plot(y: np.ndarray, pred: Any, path: Path, title: str) -> None:
    """Predicted vs. measured per target (log-log), surrogate in colour, analytic model in grey."""
    try:
        import matplotlib
    except ImportError:  # plots are a convenience; the metrics are the result
        print(f"matplotlib is not installed: no parity plot at {path}", file=sys.stderr)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 8.5))
    for j, (ax, target) in enumerate(zip(axes.ravel(), TARGETS)):
        known = np.isfinite(y[:, j])
        ax.set_title(target)
        if not known.any():
            ax.text(0.5, 0.5, "no measured values\n(analytic model only)", ha="center", va="center",
                    transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        yt = y[known, j] + 1
        ax.scatter(yt, pred.analytic[known, j] + 1, s=3, c="0.7", label="analytic", rasterized=True)
        ax.scatter(yt, pred.value[known, j] + 1, s=3, c="tab:blue", label="surrogate", rasterized=True)
        lo, hi = yt.min(), yt.max()
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("measured + 1")
        ax.set_ylabel("predicted + 1")
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """``python -m fpgaml.surrogates.train {train,eval} DATA... [options]`` (the CLI's engine)."""
    parser = argparse.ArgumentParser(prog="python -m fpgaml.surrogates.train")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("data", nargs="+")
    t.add_argument("-o", "--out", default="surrogate_run")
    t.add_argument("--arch", default="gnn", choices=["gnn", "transformer", "analytic"])
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--epochs", type=int, default=40)
    e = sub.add_parser("eval")
    e.add_argument("data", nargs="+")
    e.add_argument("--model-dir", default=None)
    e.add_argument("--split", default="test", choices=["train", "calib", "test", "all"])
    e.add_argument("--plot", default=None)
    args = parser.parse_args(argv)
    from ..datasets import load

    df = load(args.data if len(args.data) > 1 else args.data[0])
    if args.command == "train":
        train(df, arch=args.arch, out_dir=args.out, seed=args.seed, epochs=args.epochs)
    else:
        table = evaluate(df, args.model_dir, split=args.split, plot=args.plot)
        print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
