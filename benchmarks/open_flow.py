"""Wall time of each open-RTL-flow step, and da4ml's LUT estimate beside Yosys's LUT count.

    .venv/bin/python benchmarks/open_flow.py [--vectors 1000] [--pipeline-stages 2] [--out DIR]

Runs emit (da4ml) -> sim build (Verilator via cocotb) -> sim run -> Yosys synth_xilinx for
a tiny 8-8-4 HGQ2 MLP and for the jet_tagger_hgq example (16-64-32-32-5, HGQ2 narrow widths), then prints one table.
Steps run one after another (one heavy tool at a time), so the numbers are per-step costs
on this machine. The Keras/TensorFlow import is timed separately: it is paid once per process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def run_one(label: str, model: Any, out: Path, n_vectors: int, stages: int | None, part: str) -> dict[str, Any]:
    from fpgaml.compiler.frontends.keras_model import wrap_keras_model
    from fpgaml.compiler.rtl import emit_rtl, simulate, synthesize

    shutil.rmtree(out, ignore_errors=True)
    loaded = wrap_keras_model(model)
    t0 = time.perf_counter()
    meta = emit_rtl(loaded, out, latency_cutoff=None, clock_period=None, pipeline_stages=stages, part=part)
    emit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim = simulate(out, loaded, n_vectors, seed=1)
    sim_total_s = time.perf_counter() - t0
    syn = synthesize(out, part, timeout_s=1800)
    return {
        "model": label,
        "params": int(model.count_params()),
        "stages": meta["pipeline_stages"],
        "latency": meta["latency_cycles"],
        "emit_s": emit_s,
        "sim_build_s": sim["build_s"],
        "sim_run_s": sim["run_s"],
        "sim_total_s": sim_total_s,
        "vectors": sim["n_vectors"],
        "mismatches": sim["mismatches"],
        "yosys_s": syn["synth_s"],
        "da4ml_lut": meta["da4ml"]["lut_estimate"],
        "yosys_lut": syn["lut"],
        "da4ml_ff": meta["da4ml"]["ff_estimate"],
        "yosys_ff": syn["ff"],
        "carry": syn["carry"],
        "dsp": syn["dsp"],
    }


COLUMNS = [
    ("model", "{}"), ("params", "{}"), ("stages", "{}"), ("latency", "{}"), ("emit_s", "{:.2f}"),
    ("sim_build_s", "{:.2f}"), ("sim_run_s", "{:.2f}"), ("vectors", "{}"), ("mismatches", "{}"),
    ("yosys_s", "{:.2f}"), ("da4ml_lut", "{:.0f}"), ("yosys_lut", "{}"), ("da4ml_ff", "{}"), ("yosys_ff", "{}"),
    ("carry", "{}"), ("dsp", "{}"),
]


def table(rows: list[dict[str, Any]]) -> str:
    cells = [[fmt.format(r[k]) for k, fmt in COLUMNS] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, (k, _) in enumerate(COLUMNS)]
    line = lambda vals: "| " + " | ".join(v.rjust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    return "\n".join([line([k for k, _ in COLUMNS]), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *map(line, cells)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vectors", type=int, default=1000)
    ap.add_argument("--pipeline-stages", type=int, default=2, help="0 for a combinational design")
    ap.add_argument("--part", default="xcvu13p")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "fpgaml_open_flow_bench")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()

    t0 = time.perf_counter()
    import fpgaml

    import_s = time.perf_counter() - t0
    stages = args.pipeline_stages or None
    rows = [
        run_one("tiny 8-8-4", fpgaml.example("tiny_mlp"), args.out / "tiny", args.vectors, stages, args.part),
        run_one("jet_tagger_hgq", fpgaml.example("jet_tagger_hgq"), args.out / "jet_tagger_hgq", args.vectors, stages,
                args.part),
    ]
    print(f"python + TensorFlow/Keras import: {import_s:.1f} s (once per process)")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
