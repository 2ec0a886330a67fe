"""What `fpgaml build` costs on top of plain hls4ml, for the jet_tagger example.

Anchor: plain hls4ml, as a user writes it (config_from_keras_model, convert, write,
compile). Measured in the same process, alternating the two so machine load affects both
alike; the table shows medians over --repeats runs and the ratio against the anchor.
Target: ratio <= 1.1. The build does everything the anchor does plus the C-sim check
(framework model and compiled model on 1000 inputs) and the reports.

    .venv/bin/python benchmarks/build_overhead.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import fpgaml
from fpgaml.compiler.frontends.tensorflow_runtime import import_keras_quietly


def plain_hls4ml(model, out: Path) -> None:
    import hls4ml

    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado")
    graph = hls4ml.converters.convert_from_keras_model(
        model, hls_config=config, output_dir=str(out), backend="Vivado", io_type="io_parallel",
        part="xcvu13p-flga2577-2-e", clock_period=5,
    )
    graph.write()
    graph.compile()


def timed(fn, *args, **kwargs) -> float:
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import_keras_quietly()
    model = fpgaml.example("jet_tagger")
    runs: dict[str, list[float]] = {"plain hls4ml (anchor)": [], "fpgaml build": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        plain_hls4ml(model, root / "warmup")  # first conversion pays one-off imports
        for i in range(args.repeats):
            runs["plain hls4ml (anchor)"].append(timed(plain_hls4ml, model, root / f"plain{i}"))
            runs["fpgaml build"].append(timed(fpgaml.build, model, root / f"full{i}"))
    anchor = statistics.median(runs["plain hls4ml (anchor)"])
    print(f"jet_tagger, {args.repeats} repeats, median wall time")
    print(f"{'variant':<26}{'seconds':>10}{'ratio':>8}")
    for name, times in runs.items():
        median = statistics.median(times)
        print(f"{name:<26}{median:>10.2f}{median / anchor:>8.2f}")


if __name__ == "__main__":
    main()
