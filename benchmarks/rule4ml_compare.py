"""fpgaml's shipped surrogate against rule4ml, on the same held-out rows, in one table.

The rows: the dense designs of the real Vivado data the shipped surrogate was trained on
(``fpgaml.datasets.load(--data)``), its held-out *test* split (``split_of(architectures, seed)``
with the seed stored in the shipped weights' meta: architectures never seen in training),
up to ``--n`` of them sampled with a fixed seed. Both estimators score exactly these rows;
the metrics are ``fpgaml.surrogates.train.metrics`` (SMAPE %, R2, relative error
|p - y| / max(y, 1) at the median, p75, p90) and the labels ``train.labels`` (LUT, FF, DSP:
Vivado post-synthesis; BRAM in 18 Kb blocks; latency: HLS worst-case cycles). fpgaml is
scored as ``train.evaluate`` scores it (featurize -> tabulate -> ``Surrogate.predict_table``).

    .venv/bin/pip install -e ".[bench]"        # rule4ml==0.2.0: adds packages, changes no pinned one
    .venv/bin/python benchmarks/rule4ml_compare.py [--n 300] [--rule4ml-python OTHER/bin/python]

rule4ml (PyPI ``rule4ml``, GPL-3.0, a benchmark-only extra; default estimators = its v2 GNNs,
one per target, weights inside the wheel) runs in this Python when ``import rule4ml`` works
here, or in the Python given by ``--rule4ml-python`` through ``benchmarks/rule4ml_worker.py``
(a subprocess, JSON in and out: a separate venv with ``torch==2.13.0`` then ``rule4ml==0.2.0``
works too). Otherwise one line says why and only fpgaml's rows are printed.

What rule4ml is given per row (its public API: a built Keras model + an hls4ml-style config):
  * model: Keras functional InputLayer + Dense(widths[1:]), no activations -- wa-hls4ml's dense
    networks are QDense layers without activations, and rule4ml reads only shapes, parameter
    counts and per-layer reuse factors from it (it maps QDense to dense itself);
  * board: the part mapped to rule4ml's board names (xcu250-figd2104-2L-e -> "alveo-u250",
    exactly rule4ml's part for that board; xcu200 -> alveo-u200, xczu9eg -> zcu102,
    xc7z020 -> pynq-z2); rows on other parts are skipped and counted;
  * strategy (the row's, lower case) and reuse factor (the requested one; rule4ml applies
    hls4ml's closest-valid-RF rule per layer itself);
  * precision: ``--rule4ml-precision model`` (default) passes "ap_fixed<16,6>", what these
    records' hls_config Model.Precision holds (wa-hls4ml sets only the per-layer weight/bias
    precision, fixed<prec,1>, the rest keeps hls4ml's default: see from_row in
    surrogates/features.py), so what rule4ml's own parser reads from such a record in training.
    rule4ml has no per-layer precision input, so it cannot see the weight width this way;
    ``weight`` passes "ap_fixed<prec,1>" instead (on 300 rows: LUT and cycles a little better,
    FF worse, DSP and BRAM the same);
  * hls4ml_version "0.8.1" (wa-hls4ml's generator; the row's own when it has one) and
    vivado_version from the row's tool_version ("2023.2" here), both among rule4ml's categories;
  * no clock (rule4ml has no clock input; the data is 5 ns) and no io_type (io_parallel implied).

Mapping its outputs onto our labels: LUT, FF, DSP as they are; BRAM x 2 (rule4ml v2 learns
wa-hls4ml's ``resource_report.bram``, Vivado's 36 Kb tile count, while fpgaml's label counts
18 Kb blocks); CYCLES against our worst-case cycles (rule4ml learns (min + max) / 2; on these
rows max - min is 2-3 cycles, at most 0.22%). II is not compared: the data has none.

Caveats: rule4ml v2 was trained on wa-hls4ml records (its parser reads their JSON layout and
its categories are wa-hls4ml's boards and tool versions), so rows here may be in *its*
training set -- its numbers are then optimistic, while fpgaml's are on architectures it never
saw. The data covers the Resource strategy at RF 1024-4093 only, so neither number says
anything about Latency at small RF. DSP labels there are small (0-32, 43% zero): rule4ml
answers 0 for every row, which is 200% SMAPE on each non-zero row however few DSPs it misses. ms/design: fpgaml end to end from the dataset rows
(from_row, tabulate, predict_table); rule4ml its ``predict`` calls (one per configuration
group, batched over the models in the group), with building the Keras models reported apart.
rule4ml runs with one torch thread (``--rule4ml-threads``), as fpgaml's GNN does.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
WORKER = HERE / "rule4ml_worker.py"
#: fpgaml target -> rule4ml output and the factor that puts it in fpgaml's unit.
RULE4ML_TARGETS = {"lut": ("LUT", 1.0), "ff": ("FF", 1.0), "dsp": ("DSP", 1.0), "bram": ("BRAM", 2.0),
                   "latency_cycles": ("CYCLES", 1.0)}
#: Part prefix -> rule4ml board (rule4ml/parsers/supported_boards.json).
BOARDS = {"xcu250": "alveo-u250", "xcu200": "alveo-u200", "xczu9eg": "zcu102", "xc7z020": "pynq-z2"}
RULE4ML_VIVADO = {f"{y}.{r}" for y in range(2019, 2025) for r in (1, 2)}
RULE4ML_HLS4ML = {"0.8.1", "1.1.0"}


def board_of(part: str) -> str | None:
    part = str(part or "").lower()
    return next((board for prefix, board in BOARDS.items() if part.startswith(prefix)), None)


def _text(value, default: str) -> str:
    return default if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA \
        else str(value)


def rule4ml_designs(rows: pd.DataFrame, precision_mode: str = "model") -> tuple[list[dict], list[str]]:
    """The worker's design list for dataset rows (ids = row positions) and why rows were skipped."""
    designs, skipped = [], []
    for i, row in enumerate(rows.to_dict("records")):
        board = board_of(row.get("part"))
        if board is None:
            skipped.append(f"row {i}: part {row.get('part')!r} has no rule4ml board")
            continue
        bits = row.get("weight_bits")
        bits = 16 if bits is None or pd.isna(bits) else int(bits)
        precision = "ap_fixed<16,6>" if precision_mode == "model" else f"ap_fixed<{bits},1>"
        hls4ml_version = _text(row.get("hls4ml_version"), "0.8.1")
        vivado_version = _text(row.get("tool_version"), "2023.2")
        designs.append({
            "id": str(i), "widths": [int(w) for w in str(row["layer_widths"]).split("-")],
            "hidden_activation": None, "output_activation": None, "precision": precision,
            "reuse_factor": int(row["reuse_factor"]), "strategy": _text(row.get("strategy"), "latency").lower(),
            "board": board,
            "hls4ml_version": hls4ml_version if hls4ml_version in RULE4ML_HLS4ML else "0.8.1",
            "vivado_version": vivado_version if vivado_version in RULE4ML_VIVADO else "2023.2",
        })
    return designs, skipped


def call_rule4ml(request: dict, python: str | None) -> dict:
    """The worker's response: in a subprocess with ``python``, else in this process.
    Raises RuntimeError (one line) when rule4ml cannot run."""
    if python is None:
        if importlib.util.find_spec("rule4ml") is None:
            raise RuntimeError("rule4ml is not installed in this Python and --rule4ml-python was not given "
                               "(pip install -e '.[bench]', or --rule4ml-python a Python that has rule4ml)")
        spec = importlib.util.spec_from_file_location("rule4ml_worker", WORKER)
        worker = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(worker)
        t0 = time.perf_counter()
        why = worker.available()
        import_s = time.perf_counter() - t0
        if why is not None:
            raise RuntimeError(f"rule4ml does not import here: {why}")
        response = worker.run(request)
        response["timing"]["import_s"] = import_s
        return response
    if not Path(python).exists():
        raise RuntimeError(f"--rule4ml-python {python} does not exist")
    with tempfile.TemporaryDirectory(prefix="rule4ml-") as tmp:
        req, resp = Path(tmp) / "request.json", Path(tmp) / "response.json"
        req.write_text(json.dumps(request))
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
        proc = subprocess.run([python, str(WORKER), str(req), str(resp)], capture_output=True, text=True, env=env,
                              check=False)
        out = json.loads(resp.read_text()) if resp.exists() else {}
        if proc.returncode != 0 or "error" in out:
            tail = out.get("error") or (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"rule4ml worker failed (exit {proc.returncode}): {tail}")
        return out


def fpgaml_predictions(rows: pd.DataFrame, repeats: int = 5):
    """Shipped surrogate on ``rows`` exactly as train.evaluate scores it: (values [rows, T],
    median seconds for all rows over ``repeats`` runs)."""
    from fpgaml.surrogates.features import from_row, tabulate
    from fpgaml.surrogates.model import load_surrogate

    surrogate = load_surrogate()
    records = rows.to_dict("records")
    surrogate.predict_table(tabulate([from_row(r) for r in records[:8]]))  # warm-up
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        pred = surrogate.predict_table(tabulate([from_row(r) for r in records]))
        times.append(time.perf_counter() - t0)
    return pred.value, float(np.median(times))


def held_out_rows(data: str, n: int, sample_seed: int) -> tuple[pd.DataFrame, dict]:
    """Up to n dense rows of the shipped surrogate's test split, sampled deterministically."""
    from fpgaml.datasets import load
    from fpgaml.surrogates.model import load_surrogate
    from fpgaml.surrogates.train import _architectures, featurize, split_of

    meta = load_surrogate().meta
    seed = int(meta.get("training", {}).get("seed", 0))
    df = load(data)
    _, keep = featurize(df)  # dense rows, as evaluate() takes them
    sub = df.iloc[keep].reset_index(drop=True)
    test = sub[split_of(_architectures(sub), seed) == "test"].reset_index(drop=True)
    take = np.sort(np.random.default_rng(sample_seed).choice(len(test), size=min(n, len(test)), replace=False))
    info = {"rows": len(df), "dense": len(sub), "test": len(test), "seed": seed,
            "model": meta.get("name"), "trained_on": meta.get("training", {}).get("data")}
    return test.iloc[take].reset_index(drop=True), info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data"))
    parser.add_argument("--n", type=int, default=300, help="rows sampled from the held-out split")
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--rule4ml-python", default=None,
                        help="a Python with rule4ml, run as a subprocess (default: this one, if it has rule4ml)")
    parser.add_argument("--rule4ml-precision", choices=["model", "weight"], default="model",
                        help="model: ap_fixed<16,6> (the records' Model precision); weight: ap_fixed<prec,1>")
    parser.add_argument("--rule4ml-threads", type=int, default=1)
    parser.add_argument("--json", default=None, help="also write every prediction and metric here")
    args = parser.parse_args(argv)

    from fpgaml.surrogates.analytic import TARGETS
    from fpgaml.surrogates.train import labels, metrics

    rows, info = held_out_rows(args.data, args.n, args.sample_seed)
    print(f"data {args.data}: {info['rows']:,} rows, {info['dense']:,} dense, {info['test']:,} in the held-out "
          f"test split of '{info['model']}' (seed {info['seed']}, trained on {info['trained_on']}); "
          f"{len(rows)} sampled (seed {args.sample_seed})")
    y = labels(rows)
    ours, ours_s = fpgaml_predictions(rows)

    theirs = np.full((len(rows), len(TARGETS)), np.nan)
    r4_note, r4_timing, r4_version = None, {}, None
    designs, skipped = rule4ml_designs(rows, args.rule4ml_precision)
    try:
        response = call_rule4ml({"threads": args.rule4ml_threads, "designs": designs}, args.rule4ml_python)
    except RuntimeError as exc:
        r4_note = str(exc)
    else:
        r4_version, r4_timing = response.get("rule4ml_version"), response.get("timing", {})
        for key, values in response.get("predictions", {}).items():
            for target, (name, factor) in RULE4ML_TARGETS.items():
                theirs[int(key), TARGETS.index(target)] = factor * float(values[name])
        errors = response.get("errors", {})
        if errors:
            print(f"rule4ml failed on {len(errors)} row(s); first: {next(iter(errors.values()))}")
    if skipped:
        print(f"{len(skipped)} row(s) not given to rule4ml; first: {skipped[0]}")

    both = np.ones(len(rows), dtype=bool)
    if r4_note is None:  # score both on the rows rule4ml answered
        both = np.isfinite(theirs[:, [TARGETS.index(t) for t in RULE4ML_TARGETS]]).all(axis=1)
        if not both.all():
            print(f"{(~both).sum()} row(s) without a rule4ml answer are left out for both estimators")

    print()
    head = (f"{'target':<15}{'estimator':<10}{'n':>5}{'SMAPE %':>9}{'R2':>9}{'rel.med':>9}{'rel.p75':>9}"
            f"{'rel.p90':>9}")
    print(head)
    print("-" * len(head))
    report: dict = {}
    for target in RULE4ML_TARGETS:
        j = TARGETS.index(target)
        for name, pred in (("fpgaml", ours), ("rule4ml", theirs)):
            if name == "rule4ml" and r4_note is not None:
                continue
            m = metrics(y[both, j], pred[both, j])
            report.setdefault(target, {})[name] = m
            if not m.get("n"):
                print(f"{target:<15}{name:<10}{0:>5}  (no labels)")
                continue
            print(f"{target:<15}{name:<10}{m['n']:>5}{m['smape']:>9.2f}{m['r2']:>9.3f}{m['rel_median']:>9.3f}"
                  f"{m['rel_p75']:>9.3f}{m['rel_p90']:>9.3f}")
    print()
    n_ours = len(rows)
    print(f"fpgaml  : {1e3 * ours_s / n_ours:.3f} ms/design ({n_ours} designs end to end from dataset rows: "
          f"from_row + tabulate + predict_table, one batch; median of 5)")
    if r4_note is not None:
        print(f"rule4ml : not run ({r4_note})")
    else:
        n_r4 = int(r4_timing.get("n_designs", 0)) or 1
        predict_s = float(np.median(r4_timing.get("predict_s") or [float("nan")]))
        print(f"rule4ml : {1e3 * predict_s / n_r4:.3f} ms/design ({n_r4} designs in {r4_timing.get('n_calls')} "
              f"predict calls, one per configuration; + {1e3 * r4_timing.get('build_s', 0) / n_r4:.3f} ms/design "
              f"building the Keras models; version {r4_version}, precision input "
              f"'{args.rule4ml_precision}', {args.rule4ml_threads} torch thread(s))")
        print(f"          startup: import {r4_timing.get('import_s', 0):.1f} s, loading the estimators "
              f"{r4_timing.get('load_s', 0):.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "info": info, "metrics": report, "rule4ml_version": r4_version, "rule4ml_timing": r4_timing,
            "rule4ml_note": r4_note, "fpgaml_seconds": ours_s,
            "rows": rows.assign(**{f"fpgaml_{t}": ours[:, TARGETS.index(t)] for t in RULE4ML_TARGETS},
                                **{f"rule4ml_{t}": theirs[:, TARGETS.index(t)] for t in RULE4ML_TARGETS})
            .astype(object).where(lambda d: d.notna(), None).to_dict("records"),
        }, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
